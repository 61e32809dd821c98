package libclip_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"time"

	"libclip.dev/go/libclip"
)

// Zero-shot labelling: which prompt describes the photo best?
func Example_zeroShot() {
	img, err := libclip.OpenImageEncoder("models/clip-vit-base-patch32", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close()
	txt, err := libclip.OpenTextEncoder("models/clip-vit-base-patch32", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer txt.Close()

	prompts := []string{"a photo of a cat", "a photo of a dog", "a photo of a rocket"}
	image, err := img.EncodeFile("photo.jpg")
	if err != nil {
		log.Fatal(err)
	}
	texts, err := txt.EncodeBatch(prompts)
	if err != nil {
		log.Fatal(err)
	}
	// The vectors are L2-normalised: a dot product is a cosine similarity.
	logits := make([]float64, len(texts))
	maxLogit := math.Inf(-1)
	for i, t := range texts {
		var dot float32
		for d := range t {
			dot += image[d] * t[d]
		}
		logits[i] = float64(img.LogitScale() * dot)
		maxLogit = math.Max(maxLogit, logits[i])
	}
	var sum float64
	for i := range logits {
		logits[i] = math.Exp(logits[i] - maxLogit)
		sum += logits[i]
	}
	for i, p := range prompts {
		fmt.Printf("%5.1f%% %s\n", 100*logits[i]/sum, p)
	}
}

// Many images in one batched call, which runs them through the tower in passes.
func ExampleImageEncoder_EncodeFiles() {
	img, err := libclip.OpenImageEncoder("model.safetensors", &libclip.Options{Threads: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close()
	rows, err := img.EncodeFiles([]string{"a.jpg", "b.png", "c.jpg"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(rows), "embeddings of", img.Dim(), "values")
}

// A large batch with a deadline and progress reports, where a bad file is
// skipped instead of failing the call.
func ExampleImageEncoder_EncodeFilesEach() {
	img, err := libclip.OpenImageEncoder("model.safetensors", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	paths := []string{"a.jpg", "corrupt.png", "c.jpg"}
	rows, errs, err := img.EncodeFilesEach(ctx, paths, func(done, total int) {
		log.Printf("%d of %d images", done, total)
	})
	if errors.Is(err, context.DeadlineExceeded) {
		log.Fatal("out of time")
	} else if err != nil {
		log.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			fmt.Println("skipped:", e) // rows[i] is nil
			continue
		}
		fmt.Println(paths[i], len(rows[i]), "values")
	}
}

// Telling failures apart.
func ExampleError() {
	_, err := libclip.OpenImageEncoder("missing-model", nil)
	switch {
	case errors.Is(err, libclip.ErrIO):
		fmt.Println("cannot read the model:", err)
	case errors.Is(err, libclip.ErrFormat), errors.Is(err, libclip.ErrUnsupported):
		fmt.Println("not a usable CLIP checkpoint:", err)
	case err != nil:
		fmt.Println(err)
	}
	var e *libclip.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, "-", e.Message)
	}
}

// A zero-shot classifier from the ImageNet prompt ensemble, saved for a
// process that has only the image encoder.
func ExampleNewZeroShotClassifier() {
	txt, err := libclip.OpenTextEncoder("models/clip-vit-base-patch32", nil)
	if err != nil {
		log.Fatal(err)
	}
	cls, err := libclip.NewZeroShotClassifier(txt, []string{"cat", "dog", "rocket"}, nil)
	txt.Close()
	if err != nil {
		log.Fatal(err)
	}
	defer cls.Close()
	if err := cls.Save("animals.classifier"); err != nil {
		log.Fatal(err)
	}

	img, err := libclip.OpenImageEncoder("models/clip-vit-base-patch32", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close()
	image, err := img.EncodeFile("photo.jpg")
	if err != nil {
		log.Fatal(err)
	}
	probs, err := cls.Probs([][]float32{image})
	if err != nil {
		log.Fatal(err)
	}
	for j, name := range cls.Classes() {
		fmt.Printf("%5.1f%% %s\n", 100*probs[0][j], name)
	}
}

// A linear probe on labelled image embeddings, its C chosen by
// cross-validation.
func ExampleTrainProbe() {
	img, err := libclip.OpenImageEncoder("models/clip-vit-base-patch32", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer img.Close()
	files := []string{"r1.jpg", "r2.jpg", "r3.jpg", "x1.jpg", "x2.jpg", "x3.jpg"}
	labels := []int{0, 0, 0, 1, 1, 1}
	embeddings, err := img.EncodeFiles(files)
	if err != nil {
		log.Fatal(err)
	}
	c, accuracy, err := libclip.SelectC(embeddings, labels, 2, nil, 3, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("C %g: held-out accuracy %.2f\n", c, accuracy)
	probe, err := libclip.TrainProbe(embeddings, labels, []string{"receipt", "not a receipt"},
		&libclip.ProbeOptions{C: c})
	if err != nil {
		log.Fatal(err)
	}
	defer probe.Close()
	if err := probe.Save("receipts.classifier"); err != nil {
		log.Fatal(err)
	}
}

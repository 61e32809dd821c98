package libclip_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"libclip.dev/go/libclip"
)

// Zero-shot classification end to end: normalised image and text embeddings,
// logits = LogitScale x cosine, softmax over the prompts, against the
// reference's logits and probabilities.
func TestZeroShot(t *testing.T) {
	dir, _ := fixtures(t)
	for _, c := range modelCases(dir) {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "golden", c.model, "zero_shot.json"))
			if err != nil {
				t.Fatal(err)
			}
			var z struct {
				Texts  []string    `json:"texts"`
				Images []string    `json:"images"`
				Logits [][]float64 `json:"logits_per_image"`
				Probs  [][]float64 `json:"probs"`
			}
			if err := json.Unmarshal(data, &z); err != nil {
				t.Fatal(err)
			}
			img := openImage(t, c.path, nil)
			txt := openText(t, c, libclip.Options{})
			paths := make([]string, len(z.Images))
			for i, name := range z.Images {
				paths[i] = filepath.Join(dir, "images", name)
			}
			images, err := img.EncodeFiles(paths)
			if err != nil {
				t.Fatal(err)
			}
			texts, err := txt.EncodeBatch(z.Texts)
			if err != nil {
				t.Fatal(err)
			}
			scale := float64(img.LogitScale())
			for i, im := range images {
				logits := make([]float64, len(texts))
				maxLogit := math.Inf(-1)
				for j, tx := range texts {
					var dot float64
					for d := range im {
						dot += float64(im[d]) * float64(tx[d])
					}
					logits[j] = scale * dot
					maxLogit = math.Max(maxLogit, logits[j])
				}
				var sum float64
				probs := make([]float64, len(logits))
				for j, l := range logits {
					probs[j] = math.Exp(l - maxLogit)
					sum += probs[j]
				}
				for j := range probs {
					probs[j] /= sum
					if d := math.Abs(probs[j] - z.Probs[i][j]); d > 2e-3 {
						t.Errorf("%s, %q: probability %.6f, want %.6f", z.Images[i], z.Texts[j], probs[j], z.Probs[i][j])
					}
					if d := math.Abs(logits[j] - z.Logits[i][j]); d > 5e-3 {
						t.Errorf("%s, %q: logit %.6f, want %.6f", z.Images[i], z.Texts[j], logits[j], z.Logits[i][j])
					}
				}
			}
		})
	}
}

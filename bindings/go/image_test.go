package libclip_test

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libclip.dev/go/libclip"
)

func openImage(t testing.TB, path string, opts *libclip.Options) *libclip.ImageEncoder {
	t.Helper()
	enc, err := libclip.OpenImageEncoder(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

func TestImageEncoderInfo(t *testing.T) {
	dir, m := fixtures(t)
	for _, c := range modelCases(dir) {
		enc := openImage(t, c.path, nil)
		if enc.Dim() != 32 || enc.ImageSize() != 32 {
			t.Errorf("%s: Dim %d, ImageSize %d, want 32, 32", c.name, enc.Dim(), enc.ImageSize())
		}
		want := m.Models[c.model].Golden.LogitScaleExp
		if got := float64(enc.LogitScale()); math.Abs(got-want) > 1e-5*want {
			t.Errorf("%s: LogitScale %v, want %v", c.name, got, want)
		}
	}
}

// EncodeFiles is one lclip_image_encode_files_ex call without callbacks,
// which is lclip_image_encode_files, the call clip-embed makes, so the rows
// must be the C API's bit for bit; raw, they must also be the reference's
// within the fixtures' tolerance.
func TestEncodeFilesMatchesCAPI(t *testing.T) {
	dir, m := fixtures(t)
	clipEmbed(t)
	paths := imagePaths(dir, m)
	golden := map[string][]float32{}
	for _, name := range modelNames {
		golden[name] = readF32(t, filepath.Join(dir, "golden", name, "image_embeds.f32"))
	}
	for _, c := range modelCases(dir) {
		for _, raw := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/raw=%v", c.name, raw), func(t *testing.T) {
				enc := openImage(t, c.path, &libclip.Options{RawOutput: raw})
				got, err := enc.EncodeFiles(paths)
				if err != nil {
					t.Fatal(err)
				}
				want := cliRows(t, c.path, raw, enc.Dim(), "--image", paths...)
				if len(got) != len(paths) {
					t.Fatalf("%d rows, want %d", len(got), len(paths))
				}
				for i := range got {
					sameBits(t, m.Images[i].Name, got[i], want[i])
					ref := golden[c.model][i*enc.Dim() : (i+1)*enc.Dim()]
					if !raw {
						ref = normalized(ref)
					}
					closeTo(t, m.Images[i].Name+" vs reference", got[i], ref)
				}
			})
		}
	}
}

// EncodeFile and EncodeBytes are single-image calls: compare them with
// clip-embed given one image.
func TestEncodeFileMatchesCAPI(t *testing.T) {
	dir, m := fixtures(t)
	clipEmbed(t)
	paths := imagePaths(dir, m)
	for _, c := range modelCases(dir)[:2] {
		enc := openImage(t, c.path, &libclip.Options{RawOutput: true})
		for _, p := range []string{paths[0], paths[1], paths[len(paths)-3]} {
			got, err := enc.EncodeFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want := cliRows(t, c.path, true, enc.Dim(), "--image", p)[0]
			sameBits(t, c.name+" EncodeFile "+filepath.Base(p), got, want)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err = enc.EncodeBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, c.name+" EncodeBytes "+filepath.Base(p), got, want)
		}
	}
}

func TestPreprocess(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[0]
	enc := openImage(t, c.path, nil)
	var tensors [][]float32
	for _, im := range m.Images {
		got, err := enc.Preprocess(filepath.Join(dir, im.File))
		if err != nil {
			t.Fatal(err)
		}
		want := readF32(t, filepath.Join(dir, "golden", "preprocess-32", strings.TrimSuffix(im.Name, filepath.Ext(im.Name))+".f32"))
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", im.Name, len(got), len(want))
		}
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
				t.Fatalf("%s: value %d differs by %g", im.Name, i, d)
			}
		}
		tensors = append(tensors, got)
	}
	if _, err := os.Stat(clipEmbed(t)); err == nil {
		p := filepath.Join(dir, m.Images[1].File)
		want := runEmbed(t, "--model", c.path, "--preprocess", "--image", p)
		sameBits(t, "Preprocess vs clip-embed --preprocess", tensors[1], want)
	}

	// The tensors encode to what the files encode to.
	got, err := enc.EncodePixels(tensors)
	if err != nil {
		t.Fatal(err)
	}
	want, err := enc.EncodeFiles(imagePaths(dir, m))
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		sameBits(t, "EncodePixels "+m.Images[i].Name, got[i], want[i])
	}
	if _, err := enc.EncodePixels([][]float32{make([]float32, 5)}); !errors.Is(err, libclip.ErrInvalidArgument) {
		t.Errorf("EncodePixels of a short tensor: %v, want ErrInvalidArgument", err)
	}
}

// hidden hides an image's concrete type, forcing EncodeImage's generic path.
type hidden struct{ image.Image }

func decodePNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// EncodeImage of an opaque PNG decoded by image/png equals EncodeFile of the
// file, whatever the image type, the fast or generic path, and the bounds.
func TestEncodeImageMatchesEncodeFile(t *testing.T) {
	dir, _ := fixtures(t)
	for _, c := range modelCases(dir)[:2] {
		enc := openImage(t, c.path, nil)
		for _, name := range []string{"photo_astronaut_512x512.png", "synth_exact_224x224.png",
			"synth_gray_300x200.png", "synth_16bit_rgb_160x120.png", "synth_tiny_17x33.png"} {
			path := filepath.Join(dir, "images", name)
			want, err := enc.EncodeFile(path)
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, path)
			b := img.Bounds()
			nrgba := image.NewNRGBA(b)
			draw.Draw(nrgba, b, img, b.Min, draw.Src)
			rgba := image.NewRGBA(b)
			draw.Draw(rgba, b, img, b.Min, draw.Src)
			// The same pixels at an offset inside a larger canvas.
			canvas := image.NewRGBA(image.Rect(-7, -3, b.Dx()+20, b.Dy()+9))
			draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.RGBA{200, 10, 30, 255}), image.Point{}, draw.Src)
			at := image.Rect(5, 2, 5+b.Dx(), 2+b.Dy())
			draw.Draw(canvas, at, img, b.Min, draw.Src)
			variants := map[string]image.Image{
				fmt.Sprintf("decoded %T", img): img,
				"generic":                      hidden{img},
				"NRGBA":                        nrgba,
				"RGBA":                         rgba,
				"RGBA sub-image":               canvas.SubImage(at),
			}
			for what, v := range variants {
				got, err := enc.EncodeImage(v)
				if err != nil {
					t.Fatalf("%s %s: %v", name, what, err)
				}
				sameBits(t, c.name+" "+name+" "+what, got, want)
			}
		}
	}
}

func TestEncodeImageLimits(t *testing.T) {
	dir, _ := fixtures(t)
	c := modelCases(dir)[0]
	enc := openImage(t, c.path, &libclip.Options{MaxImagePixels: 100})
	if _, err := enc.EncodeImage(image.NewRGBA(image.Rect(0, 0, 11, 10))); !errors.Is(err, libclip.ErrTooLarge) {
		t.Errorf("110 pixels over a limit of 100: %v, want ErrTooLarge", err)
	}
	if _, err := enc.EncodeImage(image.NewRGBA(image.Rect(0, 0, 10, 10))); err != nil {
		t.Errorf("100 pixels with a limit of 100: %v", err)
	}
	if _, err := enc.EncodeFile(filepath.Join(dir, "images", "synth_tiny_17x33.png")); !errors.Is(err, libclip.ErrTooLarge) {
		t.Errorf("EncodeFile over MaxImagePixels: %v, want ErrTooLarge", err)
	}
	if _, err := enc.EncodeImage(image.NewRGBA(image.Rect(3, 3, 3, 8))); !errors.Is(err, libclip.ErrInvalidArgument) {
		t.Errorf("empty image: %v, want ErrInvalidArgument", err)
	}
	rows, err := enc.EncodeFiles(nil)
	if err != nil || len(rows) != 0 {
		t.Errorf("EncodeFiles(nil) = %v, %v; want no rows", rows, err)
	}
}

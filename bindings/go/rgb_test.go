package libclip

import (
	"bytes"
	"image"
	"image/color"
	"math/rand"
	"testing"
)

// generic is toRGB's fallback path, for any image type.
type generic struct{ image.Image }

// The fast paths of toRGB give the same bytes as the generic
// color.NRGBAModel path, for every type and odd bounds.
func TestToRGBFastPaths(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	r := image.Rect(-3, 5, 14, 16)

	rgba := image.NewRGBA(r)
	for i := 0; i < len(rgba.Pix); i += 4 {
		a := byte(rng.Intn(256))
		switch i % 12 {
		case 0:
			a = 255
		case 4:
			a = 0
		}
		rgba.Pix[i+3] = a
		for c := 0; c < 3; c++ {
			rgba.Pix[i+c] = byte(rng.Intn(int(a) + 1)) // valid premultiplied colour
		}
	}
	nrgba := image.NewNRGBA(r)
	rng.Read(nrgba.Pix)
	gray := image.NewGray(r)
	rng.Read(gray.Pix)
	images := map[string]image.Image{
		"RGBA":             rgba,
		"RGBA sub-image":   rgba.SubImage(image.Rect(0, 6, 9, 15)),
		"NRGBA":            nrgba,
		"NRGBA sub-image":  nrgba.SubImage(image.Rect(1, 7, 13, 16)),
		"Gray":             gray,
		"Gray sub-image":   gray.SubImage(image.Rect(-2, 5, 3, 10)),
		"Paletted/generic": image.NewPaletted(r, color.Palette{color.Black, color.RGBA{10, 200, 30, 255}}),
	}
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411,
		image.YCbCrSubsampleRatio410} {
		y := image.NewYCbCr(r, ratio)
		rng.Read(y.Y)
		rng.Read(y.Cb)
		rng.Read(y.Cr)
		images["YCbCr "+ratio.String()] = y
		images["YCbCr sub-image "+ratio.String()] = y.SubImage(image.Rect(-1, 6, 12, 15))
	}
	for name, img := range images {
		got, want := toRGB(img), toRGB(generic{img})
		if len(got) != 3*img.Bounds().Dx()*img.Bounds().Dy() {
			t.Errorf("%s: %d bytes for %v", name, len(got), img.Bounds())
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the fast path differs from color.NRGBAModel", name)
		}
	}
	// Un-premultiplied RGBA: transparent pixels are black, opaque ones as is.
	px := image.NewRGBA(image.Rect(0, 0, 3, 1))
	copy(px.Pix, []byte{10, 20, 30, 255, 0, 0, 0, 0, 50, 50, 50, 128})
	if got := toRGB(px); !bytes.Equal(got, []byte{10, 20, 30, 0, 0, 0, 99, 99, 99}) {
		t.Errorf("RGBA pixels give %v", got)
	}
}

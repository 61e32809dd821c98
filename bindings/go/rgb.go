package libclip

import (
	"image"
	"image/color"
)

// toRGB converts img to packed 8-bit RGB, rows top to bottom, 3 bytes per
// pixel, as EncodeImage documents: each pixel is what color.NRGBAModel makes
// of it, without its alpha. The fast paths give the same bytes as that
// generic path.
func toRGB(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]byte, 3*w*h)
	o := 0
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
			for x := 0; x < 4*w; x += 4 {
				out[o], out[o+1], out[o+2] = row[x], row[x+1], row[x+2]
				o += 3
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
			for x := 0; x < 4*w; x += 4 {
				switch a := uint32(row[x+3]); a {
				case 0xff:
					out[o], out[o+1], out[o+2] = row[x], row[x+1], row[x+2]
				case 0:
					out[o], out[o+1], out[o+2] = 0, 0, 0
				default:
					// color.NRGBAModel's arithmetic on the 16-bit
					// values c*0x101, which cancels to this.
					out[o] = uint8(uint32(row[x]) * 0xffff / a >> 8)
					out[o+1] = uint8(uint32(row[x+1]) * 0xffff / a >> 8)
					out[o+2] = uint8(uint32(row[x+2]) * 0xffff / a >> 8)
				}
				o += 3
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				out[o], out[o+1], out[o+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				o += 3
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:w]
			for _, v := range row {
				out[o], out[o+1], out[o+2] = v, v, v
				o += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				out[o], out[o+1], out[o+2] = c.R, c.G, c.B
				o += 3
			}
		}
	}
	return out
}

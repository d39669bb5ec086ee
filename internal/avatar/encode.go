package avatar

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"

	"chatd/internal/chat"
)

// encode scales m down to fit OutputSide, turns it upright as orientation
// asks, and writes it afresh, which leaves behind every byte of the upload
// that was not a pixel (EXIF, GPS, comments, trailing data).
func encode(m image.Image, orientation int) (chat.Avatar, error) {
	transparent := !opaque(m)
	m = orient(fit(m, OutputSide), orientation)
	var buf bytes.Buffer
	a := chat.Avatar{ContentType: "image/jpeg"}
	if transparent {
		a.ContentType = "image/png"
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, m); err != nil {
			return chat.Avatar{}, fmt.Errorf("avatar: encode png: %w", err)
		}
	} else if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return chat.Avatar{}, fmt.Errorf("avatar: encode jpeg: %w", err)
	}
	a.Data = buf.Bytes()
	a.ETag = etag(a.Data)
	return a, nil
}

// opaque reports whether every pixel of m is fully opaque, judged from the
// pixels themselves: a PNG with an alpha channel or a GIF with a transparent
// palette entry may still use only opaque pixels.
func opaque(m image.Image) bool {
	// Every image type of the standard library has Opaque, which looks
	// only at the pixels in use (alpha bytes, palette entries used).
	if o, ok := m.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := m.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

// fit returns m scaled down, keeping its aspect ratio, to fit a side x side
// box; a smaller image is returned as it is, never scaled up.
func fit(m image.Image, side int) image.Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return m
	}
	if w >= h {
		w, h = side, scaleSide(h, side, w)
	} else {
		w, h = scaleSide(w, side, h), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// Catmull-Rom widens its kernel when shrinking, so a 4096 px image
	// scaled by 8 averages its pixels rather than aliasing them.
	draw.CatmullRom.Scale(dst, dst.Bounds(), m, b, draw.Src, nil)
	return dst
}

// scaleSide returns n*num/den rounded to the nearest integer, at least 1.
func scaleSide(n, num, den int) int {
	return max(1, (n*num+den/2)/den)
}

// etag returns a strong, quoted HTTP validator of data.
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
}

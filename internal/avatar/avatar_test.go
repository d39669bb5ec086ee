package avatar

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"regexp"
	"testing"

	"chatd/internal/chat"
)

// decodeAvatar checks that a is a well-formed avatar and returns its pixels.
func decodeAvatar(t testing.TB, a chat.Avatar) image.Image {
	t.Helper()
	var (
		m   image.Image
		err error
	)
	switch a.ContentType {
	case "image/png":
		m, err = png.Decode(bytes.NewReader(a.Data))
	case "image/jpeg":
		m, err = jpeg.Decode(bytes.NewReader(a.Data))
	default:
		t.Fatalf("got content type %q, want image/png or image/jpeg", a.ContentType)
	}
	if err != nil {
		t.Fatalf("the %s avatar does not decode: %v", a.ContentType, err)
	}
	if !regexp.MustCompile(`^"[A-Za-z0-9_-]{16,}"$`).MatchString(a.ETag) {
		t.Errorf("got ETag %s, want a strong quoted validator", a.ETag)
	}
	if a.ETag != etag(a.Data) {
		t.Errorf("got ETag %s, want the hash of Data %s", a.ETag, etag(a.Data))
	}
	if a.UserID != 0 {
		t.Errorf("got UserID %d, want 0 (the store fills it)", a.UserID)
	}
	return m
}

func alphaAt(m image.Image, x, y int) uint32 {
	_, _, _, a := m.At(x, y).RGBA()
	return a
}

func TestProcessAccepts(t *testing.T) {
	t.Parallel()
	smallerFrame := &gif.GIF{
		Image:  []*image.Paletted{frame(image.Rect(15, 10, 25, 20), gifRed)},
		Delay:  []int{0},
		Config: image.Config{Width: 40, Height: 30},
	}
	tests := []struct {
		name       string
		data       []byte
		wantType   string
		wantW      int
		wantH      int
		halfClear  bool // the right half is transparent, the left opaque
		wantCenter *[3]uint32
	}{
		{"small opaque PNG is not upscaled", encodePNG(t, halfClear(40, 30, false)), "image/jpeg", 40, 30, false, nil},
		{"small transparent PNG", encodePNG(t, halfClear(40, 30, true)), "image/png", 40, 30, true, nil},
		{"large transparent PNG", encodePNG(t, halfClear(2000, 1000, true)), "image/png", 512, 256, true, nil},
		{"large opaque PNG", encodePNG(t, halfClear(800, 600, false)), "image/jpeg", 512, 384, false, nil},
		{"tall opaque PNG", encodePNG(t, halfClear(150, 1000, false)), "image/jpeg", 77, 512, false, nil},
		{"thin line", encodePNG(t, halfClear(4096, 1, false)), "image/jpeg", 512, 1, false, nil},
		{"16-bit transparent PNG", encodePNG(t, toNRGBA64(halfClear(50, 20, true))), "image/png", 50, 20, true, nil},
		{"gray PNG", encodePNG(t, image.NewGray(image.Rect(0, 0, 20, 10))), "image/jpeg", 20, 10, false, nil},
		{"PNG with an alpha channel, all opaque", encodePNG(t, halfClear(30, 30, false)), "image/jpeg", 30, 30, false, nil},
		{"JPEG", encodeJPEG(t, halfClear(100, 80, false)), "image/jpeg", 100, 80, false, nil},
		{"GIF", encodeGIF(t, &gif.GIF{Image: []*image.Paletted{frame(image.Rect(0, 0, 16, 8), gifBlue)}, Delay: []int{0}}),
			"image/jpeg", 16, 8, false, &[3]uint32{0, 0, 0xffff}},
		{"transparent GIF", encodeGIF(t, &gif.GIF{Image: []*image.Paletted{frame(image.Rect(0, 0, 16, 8), gifClear)}, Delay: []int{0}}),
			"image/png", 16, 8, false, nil},
		{"animated GIF keeps its first frame", animatedGIF(t), "image/jpeg", 30, 20, false, &[3]uint32{0xffff, 0, 0}},
		{"GIF frame smaller than its screen", encodeGIF(t, smallerFrame), "image/png", 40, 30, false, &[3]uint32{0xffff, 0, 0}},
		{"lossy WebP", fixture(t, "lossy.webp"), "image/jpeg", 64, 48, false, nil},
		{"lossless WebP with alpha", fixture(t, "lossless-alpha.webp"), "image/png", 64, 48, true, nil},
		{"lossy WebP with alpha", fixture(t, "lossy-alpha.webp"), "image/png", 64, 48, true, nil},
	}
	p := NewProcessor(2)
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := p.Process(context.Background(), tt.data)
			if err != nil {
				t.Fatalf("got error %v, want an avatar", err)
			}
			if a.ContentType != tt.wantType {
				t.Errorf("got content type %s, want %s", a.ContentType, tt.wantType)
			}
			m := decodeAvatar(t, a)
			b := m.Bounds()
			if b.Dx() != tt.wantW || b.Dy() != tt.wantH {
				t.Fatalf("got %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			}
			if tt.halfClear {
				y := b.Min.Y + b.Dy()/2
				if got := alphaAt(m, b.Min.X+b.Dx()/8, y); got != 0xffff {
					t.Errorf("got alpha %#x in the opaque half, want 0xffff", got)
				}
				if got := alphaAt(m, b.Max.X-1-b.Dx()/8, y); got != 0 {
					t.Errorf("got alpha %#x in the transparent half, want 0", got)
				}
			}
			if tt.wantCenter != nil {
				r, g, bl, _ := m.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2).RGBA()
				if !near(r, tt.wantCenter[0]) || !near(g, tt.wantCenter[1]) || !near(bl, tt.wantCenter[2]) {
					t.Errorf("got centre colour %#x %#x %#x, want about %#x", r, g, bl, *tt.wantCenter)
				}
			}
			if other, ok := seen[a.ETag]; ok {
				t.Errorf("got the ETag of %q again", other)
			}
			seen[a.ETag] = tt.name
		})
	}
}

// near reports whether two 16-bit channels agree within JPEG's loss.
func near(got, want uint32) bool {
	return max(got, want)-min(got, want) < 0x1800
}

func toNRGBA64(m *image.NRGBA) *image.NRGBA64 {
	out := image.NewNRGBA64(m.Bounds())
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			out.Set(x, y, m.At(x, y))
		}
	}
	return out
}

func TestProcessRefuses(t *testing.T) {
	validPNG := encodePNG(t, halfClear(64, 64, false))
	corruptPNG := bytes.Clone(validPNG)
	corruptPNG[len(corruptPNG)-20] ^= 0xff // inside IDAT: its CRC no longer matches
	tooBig := append(bytes.Clone(validPNG), make([]byte, MaxBytes+1-len(validPNG))...)
	tests := []struct {
		name       string
		data       []byte
		wantReason string
	}{
		{"nil", nil, reasonEmpty},
		{"empty", []byte{}, reasonEmpty},
		{"text", []byte("hello, this is not a picture\n"), reasonFormat},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`), reasonFormat},
		{"HTML", []byte("<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"), reasonFormat},
		{"PNG signature only", validPNG[:8], "is a damaged or unsupported PNG image"},
		{"truncated PNG", validPNG[:len(validPNG)/2], "is a damaged or unsupported PNG image"},
		{"corrupt PNG", corruptPNG, "is a damaged or unsupported PNG image"},
		{"truncated JPEG", encodeJPEG(t, halfClear(64, 64, false))[:300], "is a damaged or unsupported JPEG image"},
		{"truncated GIF", animatedGIF(t)[:20], "is a damaged or unsupported GIF image"},
		{"WebP header only", fixture(t, "lossy.webp")[:16], "is a damaged or unsupported WebP image"},
		{"more than 5 MiB", tooBig, reasonTooBig},
		{"4097x10", encodePNG(t, image.NewGray(image.Rect(0, 0, 4097, 10))), reasonPixels},
		{"10x4097", encodePNG(t, image.NewGray(image.Rect(0, 0, 10, 4097))), reasonPixels},
		{"pixel bomb", craftedPNG(t, 50000, 50000, 6), reasonPixels},
		{"GIF of no pixels", []byte("GIF89a\x00\x00\x00\x00\x00\x00\x00;"), reasonNoPixel},
	}
	p := NewProcessor(1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Process(context.Background(), tt.data)
			var bad *chat.ImageError
			if !errors.As(err, &bad) {
				t.Fatalf("got error %v, want a *chat.ImageError", err)
			}
			if bad.Reason != tt.wantReason {
				t.Errorf("got reason %q, want %q", bad.Reason, tt.wantReason)
			}
		})
	}
}

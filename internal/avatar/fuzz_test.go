package avatar

import (
	"context"
	"errors"
	"image"
	"image/gif"
	"testing"

	"chatd/internal/chat"
)

// FuzzProcess checks that no upload makes Process panic, and that each one
// gives either a decodable avatar within the output box or an ImageError:
// with no context to cancel, nothing else may go wrong.
func FuzzProcess(f *testing.F) {
	for _, name := range []string{"lossy.webp", "lossless-alpha.webp", "lossy-alpha.webp"} {
		f.Add(fixture(f, name))
	}
	f.Add(encodePNG(f, halfClear(24, 16, true)))
	f.Add(encodePNG(f, toNRGBA64(halfClear(9, 7, false))))
	f.Add(encodeJPEG(f, halfClear(24, 16, false)))
	f.Add(jpegWithEXIF(f, halfClear(12, 8, false), orientRotate90))
	f.Add(animatedGIF(f))
	f.Add(encodeGIF(f, &gif.GIF{
		Image:  []*image.Paletted{frame(image.Rect(2, 2, 6, 5), gifClear)},
		Delay:  []int{0},
		Config: image.Config{Width: 8, Height: 8},
	}))
	f.Add(craftedPNG(f, 50000, 50000, 6))
	f.Add([]byte("<svg></svg>"))

	p := NewProcessor(0)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := p.Process(context.Background(), data)
		if err != nil {
			var bad *chat.ImageError
			if !errors.As(err, &bad) || bad.Reason == "" {
				t.Fatalf("got error %v, want a *chat.ImageError with a reason", err)
			}
			return
		}
		b := decodeAvatar(t, a).Bounds()
		if b.Empty() || b.Dx() > OutputSide || b.Dy() > OutputSide {
			t.Fatalf("got a %dx%d avatar, want one within %dx%d", b.Dx(), b.Dy(), OutputSide, OutputSide)
		}
	})
}

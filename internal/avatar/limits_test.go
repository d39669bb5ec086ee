package avatar

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"runtime"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
)

func TestPixelBombIsRefusedFromItsHeader(t *testing.T) {
	bomb := craftedPNG(t, 50000, 50000, 6) // 10 GB of RGBA once decoded
	if len(bomb) > 200 {
		t.Fatalf("got a %d-byte bomb, want a tiny one", len(bomb))
	}
	p := NewProcessor(1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := p.Process(context.Background(), bomb)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)

	var bad *chat.ImageError
	if !errors.As(err, &bad) || bad.Reason != reasonPixels {
		t.Fatalf("got error %v, want the reason %q", err, reasonPixels)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
		t.Errorf("got %d bytes allocated, want under 1 MiB: the pixels must not be allocated", allocated)
	}
	if elapsed > time.Second {
		t.Errorf("got %v to refuse, want it at once", elapsed)
	}
}

func TestCheckSize(t *testing.T) {
	tests := []struct {
		w, h       int
		wantReason string // "" for accepted
	}{
		{4096, 4096, ""},
		{1, 1, ""},
		{4096, 1, ""},
		{4097, 10, reasonPixels},
		{10, 4097, reasonPixels},
		{50000, 50000, reasonPixels},
		{0, 10, reasonNoPixel},
		{10, 0, reasonNoPixel},
	}
	for _, tt := range tests {
		err := checkSize(image.Config{Width: tt.w, Height: tt.h})
		var got string
		var bad *chat.ImageError
		if errors.As(err, &bad) {
			got = bad.Reason
		} else if err != nil {
			t.Fatalf("%dx%d: got error %v, want a *chat.ImageError or nil", tt.w, tt.h, err)
		}
		if got != tt.wantReason {
			t.Errorf("%dx%d: got reason %q, want %q", tt.w, tt.h, got, tt.wantReason)
		}
	}
}

// TestMaxSizePassesTheHeaderCheck sends headers of 4096x4096 and 4097x4096
// over a few pixels: only the larger must break the size rule; the other
// gets past it, to be refused as damaged when its pixels run out.
func TestMaxSizePassesTheHeaderCheck(t *testing.T) {
	p := NewProcessor(1)
	for _, tt := range []struct {
		w          uint32
		wantReason string
	}{
		{4096, "is a damaged or unsupported PNG image"},
		{4097, reasonPixels},
	} {
		_, err := p.Process(context.Background(), craftedPNG(t, tt.w, 4096, 0))
		var bad *chat.ImageError
		if !errors.As(err, &bad) {
			t.Fatalf("%dx4096: got error %v, want a *chat.ImageError", tt.w, err)
		}
		if bad.Reason != tt.wantReason {
			t.Errorf("%dx4096: got reason %q, want %q", tt.w, bad.Reason, tt.wantReason)
		}
	}
}

func TestMetadataIsStripped(t *testing.T) {
	withEXIF := jpegWithEXIF(t, halfClear(64, 48, false), orientNormal)
	withTrailer := append(encodePNG(t, halfClear(32, 32, true)), "<html><script>alert(1)</script>"...)
	for name, data := range map[string][]byte{"EXIF JPEG": withEXIF, "PNG with trailing HTML": withTrailer} {
		a, err := NewProcessor(1).Process(context.Background(), data)
		if err != nil {
			t.Fatalf("%s: got error %v, want an avatar", name, err)
		}
		decodeAvatar(t, a)
		for _, marker := range []string{"Exif", "GPS", gpsText, "<script"} {
			if bytes.Contains(data, []byte(marker)) && bytes.Contains(a.Data, []byte(marker)) {
				t.Errorf("%s: the output still holds %q", name, marker)
			}
		}
	}
	if !bytes.Contains(withEXIF, []byte("GPSLatitude")) {
		t.Fatal("the input JPEG holds no GPS marker: the test checks nothing")
	}
}

func TestProcessWaitsForADecodeSlot(t *testing.T) {
	p := NewProcessor(1)
	data := encodePNG(t, halfClear(8, 8, false))
	p.sem <- struct{}{} // another decode holds the only slot

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Process(ctx, data)
	var bad *chat.ImageError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &bad) {
		t.Fatalf("got error %v, want context.DeadlineExceeded and no *chat.ImageError", err)
	}

	<-p.sem
	if _, err := p.Process(context.Background(), data); err != nil {
		t.Fatalf("got error %v once the slot is free, want an avatar", err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Process(canceled, data); !errors.Is(err, context.Canceled) {
		t.Fatalf("got error %v with a canceled context, want context.Canceled", err)
	}
}

func TestProcessConcurrently(t *testing.T) {
	t.Parallel()
	p := NewProcessor(2)
	inputs := [][]byte{
		encodePNG(t, halfClear(520, 300, true)),
		encodeJPEG(t, halfClear(530, 530, false)),
		animatedGIF(t),
		fixture(t, "lossy-alpha.webp"),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(inputs))
	for range 2 {
		for _, data := range inputs {
			wg.Go(func() {
				_, err := p.Process(context.Background(), data)
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("got error %v, want an avatar", err)
		}
	}
	if n := len(p.sem); n != 0 {
		t.Errorf("got %d decode slots still held, want 0", n)
	}
}

// noOpaque hides the Opaque method of the image it wraps.
type noOpaque struct{ image.Image }

func TestOpaqueWithoutAnOpaqueMethod(t *testing.T) {
	m := halfClear(6, 4, false)
	if !opaque(noOpaque{m}) {
		t.Error("got transparent for an opaque image, want opaque")
	}
	m.SetNRGBA(5, 3, color.NRGBA{A: 0xfe})
	if opaque(noOpaque{m}) {
		t.Error("got opaque for an image with one translucent pixel, want transparent")
	}
}

// BenchmarkProcessLargest measures the costliest accepted upload: a
// 4096x4096 photo decoded, scaled to 512x512 and re-encoded.
func BenchmarkProcessLargest(b *testing.B) {
	data := encodeJPEG(b, halfClear(MaxSide, MaxSide, false))
	p := NewProcessor(1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Process(context.Background(), data); err != nil {
			b.Fatal(err)
		}
	}
}

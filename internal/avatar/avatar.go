// Package avatar checks uploaded avatar images against chatd's rules and
// re-encodes them, scaled down, without their metadata.
package avatar

import (
	"context"
	"fmt"
	"image"
	"runtime"

	"chatd/internal/chat"
)

// Limits of an uploaded image (API.md, POST /api/users/register).
const (
	// MaxBytes is the largest file accepted: 5 MiB.
	MaxBytes = 5 << 20
	// MaxSide is the largest width or height accepted, so an image holds at
	// most MaxSide*MaxSide pixels (16.8 megapixels).
	MaxSide = 4096
	// OutputSide is the box that stored avatars are scaled down to fit.
	OutputSide = 512
	// JPEGQuality is the quality of re-encoded opaque avatars.
	JPEGQuality = 85
)

// Reasons given to the client, as the "image" field error.
const (
	reasonEmpty   = "must not be empty"
	reasonTooBig  = "must be at most 5 MiB"
	reasonFormat  = "must be a JPEG, PNG, GIF or WebP image"
	reasonPixels  = "must be at most 4096x4096 pixels"
	reasonNoPixel = "must be at least 1x1 pixel"
)

// Processor checks and re-encodes avatars. Its Process method is a
// chat.ImageProcessor. It is safe for concurrent use.
type Processor struct {
	// sem holds one token per decode in progress: a 16.8 MP image takes
	// about 67 MB as RGBA, and about 100 MB with the scaler's buffer
	// (BenchmarkProcessLargest), so the number of them at once is bounded.
	sem chan struct{}
}

// NewProcessor returns a Processor that decodes at most maxConcurrent images
// at a time; maxConcurrent < 1 means one per CPU.
func NewProcessor(maxConcurrent int) *Processor {
	if maxConcurrent < 1 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Processor{sem: make(chan struct{}, maxConcurrent)}
}

// Process checks data against the avatar rules and returns it re-encoded:
// scaled down to fit OutputSide x OutputSide, turned upright as a JPEG's
// EXIF Orientation asks, as PNG when it has any transparent pixel and as
// JPEG otherwise, with no metadata. An image that
// breaks a rule gives a *chat.ImageError; the returned Avatar's UserID is 0.
// ctx bounds only the wait for a decode slot: a decode once begun is short
// (about a second for the largest image) and finishes.
func (p *Processor) Process(ctx context.Context, data []byte) (chat.Avatar, error) {
	f, cfg, err := check(data)
	if err != nil {
		return chat.Avatar{}, err
	}
	if err := p.acquire(ctx); err != nil {
		return chat.Avatar{}, err
	}
	defer p.release()
	m, err := f.decode(data, cfg)
	if err != nil {
		return chat.Avatar{}, err
	}
	return encode(m, f.orientationOf(data))
}

// check applies every rule that can be judged without decoding the pixels,
// so that a bomb costs no more than reading its header.
func check(data []byte) (format, image.Config, error) {
	if len(data) == 0 {
		return format{}, image.Config{}, &chat.ImageError{Reason: reasonEmpty}
	}
	if len(data) > MaxBytes {
		return format{}, image.Config{}, &chat.ImageError{Reason: reasonTooBig}
	}
	f, ok := detect(data)
	if !ok {
		return format{}, image.Config{}, &chat.ImageError{Reason: reasonFormat}
	}
	cfg, err := f.config(data)
	if err != nil {
		return format{}, image.Config{}, err
	}
	if err := checkSize(cfg); err != nil {
		return format{}, image.Config{}, err
	}
	return f, cfg, nil
}

// checkSize refuses an image whose header claims too many or no pixels.
func checkSize(cfg image.Config) error {
	if cfg.Width > MaxSide || cfg.Height > MaxSide {
		return &chat.ImageError{Reason: reasonPixels}
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return &chat.ImageError{Reason: reasonNoPixel}
	}
	return nil
}

// acquire waits for a decode slot, or until ctx is done.
func (p *Processor) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("avatar: wait for a decode slot: %w", err)
	}
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("avatar: wait for a decode slot: %w", ctx.Err())
	}
}

func (p *Processor) release() { <-p.sem }

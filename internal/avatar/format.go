package avatar

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"chatd/internal/chat"
)

// format is an accepted image format with its decoders, called directly
// rather than through image.RegisterFormat so that no init side effect and
// no declared type decides how bytes are read.
type format struct {
	name         string
	decodeConfig func(io.Reader) (image.Config, error)
	decodeImage  func(io.Reader) (image.Image, error)
	// orientation reads how the picture must be turned to show upright;
	// nil but for JPEG, the format in which cameras and phones record it.
	orientation func([]byte) int
}

// detect tells the format of data from its magic bytes alone.
func detect(data []byte) (format, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return format{"JPEG", jpeg.DecodeConfig, jpeg.Decode, jpegOrientation}, true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return format{"PNG", png.DecodeConfig, png.Decode, nil}, true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		// gif.Decode stops after the first frame of an animation.
		return format{"GIF", gif.DecodeConfig, gif.Decode, nil}, true
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return format{"WebP", webp.DecodeConfig, webp.Decode, nil}, true
	}
	return format{}, false
}

// config reads the image's header: its size, without its pixels.
func (f format) config(data []byte) (image.Config, error) {
	cfg, err := f.decodeConfig(bytes.NewReader(data))
	if err != nil {
		return image.Config{}, f.damaged()
	}
	return cfg, nil
}

// decode reads the pixels of an image whose header passed config and
// checkSize. A GIF frame smaller than its screen is placed on the
// transparent screen, as a browser shows it.
func (f format) decode(data []byte, cfg image.Config) (image.Image, error) {
	m, err := f.decodeImage(bytes.NewReader(data))
	if err != nil {
		return nil, f.damaged()
	}
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	switch b := m.Bounds(); {
	case b == screen:
		return m, nil
	case b.In(screen):
		canvas := image.NewNRGBA(screen)
		draw.Draw(canvas, b, m, b.Min, draw.Src)
		return canvas, nil
	default:
		// The decoders hold their pixels to their headers; this keeps the
		// size limit should one of them ever stop doing so.
		return nil, f.damaged()
	}
}

// orientationOf returns the EXIF Orientation of data, orientNormal when the
// format carries none that matters.
func (f format) orientationOf(data []byte) int {
	if f.orientation == nil {
		return orientNormal
	}
	return f.orientation(data)
}

func (f format) damaged() error {
	return &chat.ImageError{Reason: "is a damaged or unsupported " + f.name + " image"}
}

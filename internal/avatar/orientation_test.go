package avatar

import (
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"testing"
)

func TestJPEGOrientation(t *testing.T) {
	plain := encodeJPEG(t, halfClear(8, 8, false))
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"no EXIF", plain, orientNormal},
		{"truncated before any segment", plain[:3], orientNormal},
		{"EXIF without an IFD", withSegment(plain, 0xe1, []byte("Exif\x00\x00MM\x00*")), orientNormal},
		{"IFD past the end", withSegment(plain, 0xe1, []byte("Exif\x00\x00MM\x00*\x7f\xff\xff\xff")), orientNormal},
		{"not TIFF", withSegment(plain, 0xe1, []byte("Exif\x00\x00XX\x00*\x00\x00\x00\x08")), orientNormal},
		{"out of range", withSegment(plain, 0xe1, exifTIFF(binary.BigEndian, 9)), orientNormal},
		{"segment longer than the file", withSegment(plain, 0xe1, exifTIFF(binary.BigEndian, 6))[:30], orientNormal},
		{"XMP, not EXIF", withSegment(plain, 0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00")), orientNormal},
		{"after another APP segment", withSegment(withSegment(plain, 0xe1, exifTIFF(binary.BigEndian, 3)), 0xe0, []byte("JFIF\x00")), 3},
	}
	for o := uint16(orientNormal); o <= orientRotate270; o++ {
		for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
			tests = append(tests, struct {
				name string
				data []byte
				want int
			}{order.String(), withSegment(plain, 0xe1, exifTIFF(order, o)), int(o)})
		}
	}
	for _, tt := range tests {
		if got := jpegOrientation(tt.data); got != tt.want {
			t.Errorf("%s: got orientation %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestOrient follows the EXIF specification's description of each value:
// where the stored first row's first two pixels appear once shown upright.
func TestOrient(t *testing.T) {
	const w, h = 4, 2
	red, green := color.NRGBA{0xff, 0, 0, 0xff}, color.NRGBA{0, 0xff, 0, 0xff}
	stored := image.NewNRGBA(image.Rect(0, 0, w, h))
	stored.SetNRGBA(0, 0, red)
	stored.SetNRGBA(1, 0, green)
	tests := []struct {
		orientation    int
		wantW, wantH   int
		wantRed, wantG image.Point
	}{
		{orientNormal, 4, 2, image.Pt(0, 0), image.Pt(1, 0)},
		{orientMirror, 4, 2, image.Pt(3, 0), image.Pt(2, 0)},
		{orientRotate180, 4, 2, image.Pt(3, 1), image.Pt(2, 1)},
		{orientFlip, 4, 2, image.Pt(0, 1), image.Pt(1, 1)},
		{orientTranspose, 2, 4, image.Pt(0, 0), image.Pt(0, 1)},
		{orientRotate90, 2, 4, image.Pt(1, 0), image.Pt(1, 1)},
		{orientTransverse, 2, 4, image.Pt(1, 3), image.Pt(1, 2)},
		{orientRotate270, 2, 4, image.Pt(0, 3), image.Pt(0, 2)},
	}
	for _, tt := range tests {
		m := orient(stored, tt.orientation)
		if b := m.Bounds(); b.Dx() != tt.wantW || b.Dy() != tt.wantH {
			t.Errorf("orientation %d: got %dx%d, want %dx%d", tt.orientation, b.Dx(), b.Dy(), tt.wantW, tt.wantH)
			continue
		}
		if got := color.NRGBAModel.Convert(m.At(tt.wantRed.X, tt.wantRed.Y)); got != red {
			t.Errorf("orientation %d: got %v at %v, want the red corner", tt.orientation, got, tt.wantRed)
		}
		if got := color.NRGBAModel.Convert(m.At(tt.wantG.X, tt.wantG.Y)); got != green {
			t.Errorf("orientation %d: got %v at %v, want the green pixel", tt.orientation, got, tt.wantG)
		}
	}
}

// TestProcessTurnsPortraitPhotos sends a phone's portrait photo: stored
// on its side, red on the left, with Orientation 6 (turn clockwise).
func TestProcessTurnsPortraitPhotos(t *testing.T) {
	stored := image.NewNRGBA(image.Rect(0, 0, 1000, 600))
	for y := range 600 {
		for x := range 1000 {
			c := color.NRGBA{0, 0, 0xff, 0xff}
			if x < 500 {
				c = color.NRGBA{0xff, 0, 0, 0xff}
			}
			stored.SetNRGBA(x, y, c)
		}
	}
	a, err := NewProcessor(1).Process(context.Background(), jpegWithEXIF(t, stored, orientRotate90))
	if err != nil {
		t.Fatalf("got error %v, want an avatar", err)
	}
	m := decodeAvatar(t, a)
	if b := m.Bounds(); b.Dx() != 307 || b.Dy() != 512 {
		t.Fatalf("got %dx%d, want 307x512 (upright)", b.Dx(), b.Dy())
	}
	for _, p := range []struct {
		y    int
		want [3]uint32
	}{{100, [3]uint32{0xffff, 0, 0}}, {400, [3]uint32{0, 0, 0xffff}}} {
		r, g, b, _ := m.At(150, p.y).RGBA()
		if !near(r, p.want[0]) || !near(g, p.want[1]) || !near(b, p.want[2]) {
			t.Errorf("got colour %#x %#x %#x at y=%d, want about %#x", r, g, b, p.y, p.want)
		}
	}
}

package avatar

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// halfClear returns a w x h gradient whose left half is opaque and whose
// right half is fully transparent, or all opaque when clear is false.
func halfClear(w, h int, clear bool) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		row := m.Pix[y*m.Stride:]
		for x := range w {
			a := uint8(0xff)
			if clear && x >= w/2 {
				a = 0
			}
			copy(row[4*x:], []byte{uint8(x * 255 / w), uint8(y * 255 / h), 90, a})
		}
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatalf("encode png: %v", err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, nil); err != nil {
		t.Fatalf("encode jpeg: %v", err)
	}
	return buf.Bytes()
}

// Palette indexes of the GIF frames made by frame.
const (
	gifRed = iota
	gifBlue
	gifClear
)

// frame returns a frame of r filled with palette index i.
func frame(r image.Rectangle, i uint8) *image.Paletted {
	p := color.Palette{color.RGBA{0xff, 0, 0, 0xff}, color.RGBA{0, 0, 0xff, 0xff}, color.RGBA{}}
	m := image.NewPaletted(r, p)
	for j := range m.Pix {
		m.Pix[j] = i
	}
	return m
}

func encodeGIF(t testing.TB, g *gif.GIF) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatalf("encode gif: %v", err)
	}
	return buf.Bytes()
}

// animatedGIF returns a two-frame 30x20 animation: red, then blue.
func animatedGIF(t testing.TB) []byte {
	t.Helper()
	r := image.Rect(0, 0, 30, 20)
	return encodeGIF(t, &gif.GIF{
		Image: []*image.Paletted{frame(r, gifRed), frame(r, gifBlue)},
		Delay: []int{10, 10},
	})
}

// pngChunk encodes one PNG chunk with its length and CRC.
func pngChunk(typ string, data []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// craftedPNG returns a well-formed PNG whose IHDR claims w x h 8-bit pixels
// of colorType (0 gray, 6 RGBA) but whose IDAT holds only one row: the
// shape of a decompression bomb, a few hundred bytes long.
func craftedPNG(t testing.TB, w, h uint32, colorType byte) []byte {
	t.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, colorType, 0, 0, 0)
	var idat bytes.Buffer
	z := zlib.NewWriter(&idat)
	if _, err := z.Write(make([]byte, 64)); err != nil {
		t.Fatalf("compress idat: %v", err)
	}
	if err := z.Close(); err != nil {
		t.Fatalf("compress idat: %v", err)
	}
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", idat.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// byteOrder is binary.BigEndian or binary.LittleEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// gpsText stands for the GPS position a camera writes into EXIF.
const gpsText = "GPSLatitude=51.5007N GPSLongitude=0.1246W"

// exifTIFF returns an EXIF block, "Exif\0\0" and a TIFF structure in order,
// whose first IFD holds the Orientation tag, followed by gpsText.
func exifTIFF(order byteOrder, orientation uint16) []byte {
	b := []byte("Exif\x00\x00MM\x00*")
	if order.String() == binary.LittleEndian.String() {
		b = []byte("Exif\x00\x00II*\x00")
	}
	b = order.AppendUint32(b, 8)                     // first IFD right after the header
	b = order.AppendUint16(b, 1)                     // one entry
	b = order.AppendUint16(b, 0x0112)                // Orientation
	b = order.AppendUint16(b, 3)                     // SHORT
	b = order.AppendUint32(b, 1)                     // one value
	b = order.AppendUint16(b, orientation)           // the value, left-justified
	b = append(order.AppendUint16(b, 0), 0, 0, 0, 0) // padding, no next IFD
	return append(b, gpsText...)
}

// withSegment returns the JPEG file j with an APPn segment inserted after
// its SOI marker.
func withSegment(j []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker}
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+len(payload)))
	seg = append(seg, payload...)
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}

// jpegWithEXIF returns a decodable JPEG of m carrying an APP1 EXIF segment.
func jpegWithEXIF(t testing.TB, m image.Image, orientation uint16) []byte {
	t.Helper()
	out := withSegment(encodeJPEG(t, m), 0xe1, exifTIFF(binary.BigEndian, orientation))
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("the EXIF test JPEG does not decode: %v", err)
	}
	return out
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

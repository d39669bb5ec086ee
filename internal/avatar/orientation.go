package avatar

import (
	"bytes"
	"encoding/binary"
	"image"
)

// Re-encoding drops EXIF, and with it the Orientation tag by which a phone
// says its photo was taken upright; browsers honour that tag, so a portrait
// photo would be stored on its side unless its pixels are turned first.

// EXIF Orientation values (TIFF tag 0x0112): how to turn the stored pixels
// to show the picture upright.
const (
	orientNormal     = 1
	orientMirror     = 2 // mirrored left to right
	orientRotate180  = 3
	orientFlip       = 4 // mirrored top to bottom
	orientTranspose  = 5 // mirrored along the top-left diagonal
	orientRotate90   = 6 // turned a quarter clockwise to show
	orientTransverse = 7 // mirrored along the top-right diagonal
	orientRotate270  = 8 // turned a quarter anticlockwise to show
)

// jpegOrientation returns the EXIF Orientation of a JPEG file, or
// orientNormal when it has none or a malformed one.
func jpegOrientation(data []byte) int {
	for i := 2; i+4 <= len(data) && data[i] == 0xff; {
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte before a marker
			i++
			continue
		case marker == 0xda || marker == 0xd9: // pixels or end: no more metadata
			return orientNormal
		case marker >= 0xd0 && marker <= 0xd7 || marker == 0x01: // no length
			i += 2
			continue
		}
		end := i + 2 + int(binary.BigEndian.Uint16(data[i+2:]))
		if end > len(data) || end < i+4 {
			return orientNormal
		}
		if seg := data[i+4 : end]; marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i = end
	}
	return orientNormal
}

// tiffOrientation reads the Orientation tag from the first IFD of a TIFF
// structure, the form EXIF takes.
func tiffOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return orientNormal
	}
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(tiff, []byte("II*\x00")):
		order = binary.LittleEndian
	case bytes.HasPrefix(tiff, []byte("MM\x00*")):
		order = binary.BigEndian
	default:
		return orientNormal
	}
	ifd := int64(order.Uint32(tiff[4:8]))
	if ifd+2 > int64(len(tiff)) {
		return orientNormal
	}
	n := int64(order.Uint16(tiff[ifd:]))
	for e := ifd + 2; e+12 <= int64(len(tiff)) && e < ifd+2+12*n; e += 12 {
		const tagOrientation, typeShort = 0x0112, 3
		if order.Uint16(tiff[e:]) != tagOrientation || order.Uint16(tiff[e+2:]) != typeShort {
			continue
		}
		if o := int(order.Uint16(tiff[e+8:])); o >= orientNormal && o <= orientRotate270 {
			return o
		}
		return orientNormal
	}
	return orientNormal
}

// orient returns m turned and mirrored as orientation asks, to be shown
// upright without its EXIF. It runs on the scaled avatar, which is cheap:
// fitting a square box does not depend on which way the picture faces.
func orient(m image.Image, orientation int) image.Image {
	if orientation <= orientNormal || orientation > orientRotate270 {
		return m
	}
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if orientation >= orientTranspose {
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			dx, dy := orientedPoint(orientation, x, y, w, h)
			dst.Set(dx, dy, m.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// orientedPoint returns where pixel (x, y) of a w x h image goes.
func orientedPoint(orientation, x, y, w, h int) (int, int) {
	switch orientation {
	case orientMirror:
		return w - 1 - x, y
	case orientRotate180:
		return w - 1 - x, h - 1 - y
	case orientFlip:
		return x, h - 1 - y
	case orientTranspose:
		return y, x
	case orientRotate90:
		return h - 1 - y, x
	case orientTransverse:
		return h - 1 - y, w - 1 - x
	case orientRotate270:
		return y, w - 1 - x
	}
	return x, y
}

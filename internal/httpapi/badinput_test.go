package httpapi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"chatd/internal/avatar"
)

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(kind string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(kind)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), data...)))
	return b.Bytes()
}

// pixelBomb is a well-formed PNG header claiming w x h RGBA pixels, followed
// by a few bytes of image data: decoding it would allocate w*h*4 bytes.
func pixelBomb(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1})...)
	return append(out, pngChunk("IEND", nil)...)
}

// withEXIF inserts an APP1 EXIF segment holding GPS tags right after the
// JPEG's start-of-image marker, where cameras put it.
func withEXIF(jpg []byte) []byte {
	payload := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08GPSLatitude=55.7558N;GPSLongitude=37.6173E")
	seg := []byte{0xff, 0xe1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	return slices.Concat(jpg[:2], seg, jpg[2:])
}

func TestBadImages(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	oversized := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, avatar.MaxBytes)...)
	tests := []struct {
		name string
		file []byte
	}{
		{"text file", []byte("hello, I am a text file\n")},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`)},
		{"html", []byte("<!doctype html><title>x</title>")},
		{"empty file", []byte{}},
		{"truncated png", testPNG(t, 64, 64, false)[:60]},
		{"5 MiB and a byte", oversized},
		{"6 MiB photo", append([]byte("\xff\xd8\xff\xe0"), make([]byte, 6<<20)...)},
		{"pixel bomb", pixelBomb(50000, 50000)},
		{"4097 pixels wide", pixelBomb(4097, 1)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := ts.do(registerMultipart(t, fmt.Sprint("user", i), "secret", tt.file))
			if got := fieldNames(t, r); !slices.Equal(got, []string{"image"}) {
				t.Errorf("register: got fields %v (%s), want [image]", got, r.body)
			}
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("register answered in %v, want the image refused without decoding it", elapsed)
			}
			r = ts.putAvatar(token, tt.file)
			if got := fieldNames(t, r); !slices.Equal(got, []string{"image"}) {
				t.Errorf("PUT image: got fields %v (%s), want [image]", got, r.body)
			}
		})
	}
}

func TestAvatarStripsMetadata(t *testing.T) {
	ts := newTestServer(t)
	token, id := ts.user("alice")
	upload := withEXIF(testJPEG(t, 64, 64, color.RGBA{G: 160, A: 255}))
	if !bytes.Contains(upload, []byte("Exif")) || !bytes.Contains(upload, []byte("GPS")) {
		t.Fatal("the test upload carries no EXIF GPS data")
	}
	wantStatus(t, "upload", ts.putAvatar(token, upload), http.StatusOK, "")
	r := ts.avatar(token, id)
	wantStatus(t, "stored", r, http.StatusOK, "")
	for _, leak := range []string{"Exif", "GPS"} {
		if bytes.Contains(r.body, []byte(leak)) {
			t.Errorf("stored avatar still contains %q", leak)
		}
	}
}

func TestAvatarScalesTransparentPNG(t *testing.T) {
	ts := newTestServer(t)
	token, id := ts.user("alice")
	wantStatus(t, "upload", ts.putAvatar(token, testPNG(t, 1500, 1000, true)), http.StatusOK, "")
	r := ts.avatar(token, id)
	if ct := r.header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("Content-Type: got %q, want image/png for a transparent source", ct)
	}
	m, err := png.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("decode stored avatar: %v", err)
	}
	b := m.Bounds()
	if b.Dx() != avatar.OutputSide || b.Dy() < 330 || b.Dy() > 345 {
		t.Errorf("stored size: got %dx%d, want 512 wide keeping the 3:2 ratio", b.Dx(), b.Dy())
	}
	if alpha(m.At(b.Min.X+5, b.Min.Y+5)) != 0 || alpha(m.At(b.Max.X-5, b.Max.Y-5)) != 0xffff {
		t.Errorf("alpha lost: left %d, right %d; want 0 and 65535",
			alpha(m.At(b.Min.X+5, b.Min.Y+5)), alpha(m.At(b.Max.X-5, b.Max.Y-5)))
	}
}

func alpha(c color.Color) uint32 {
	_, _, _, a := c.RGBA()
	return a
}

func TestBodyTooLarge(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	huge := "text=" + strings.Repeat("a", 12<<20)
	// Plain text, because the contract client would spend seconds checking
	// a 12 MB form field against the schema; the size is refused first anyway.
	r := ts.do(request{method: "POST", path: "/api/messages", token: token,
		contentType: "text/plain; charset=utf-8", body: []byte(huge)})
	wantStatus(t, "12 MB text", r, http.StatusRequestEntityTooLarge, `"error"`)

	// A 12 MB form announced, of which the server gets nothing: it must
	// answer from the header alone.
	head := "POST /api/messages HTTP/1.1\r\nHost: chatd\r\nAuthorization: " + token +
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + fmt.Sprint(len(huge)) + "\r\n\r\n"
	if status := rawExchange(t, ts, head, nil); status != http.StatusRequestEntityTooLarge {
		t.Errorf("announced 12 MB, none sent: got status %d, want 413", status)
	}
	// An avatar upload announcing far more than any image may be is refused
	// from its header too.
	upload := "PUT /api/users/image HTTP/1.1\r\nHost: chatd\r\nAuthorization: " + token +
		"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: " + fmt.Sprint(64<<20) + "\r\n\r\n"
	if status := rawExchange(t, ts, upload, nil); status != http.StatusRequestEntityTooLarge {
		t.Errorf("avatar announcing 64 MiB: got status %d, want 413", status)
	}
	// Chunked, the size is unknown until the limit is crossed.
	head = strings.Replace(head, "Content-Length: "+fmt.Sprint(len(huge)), "Transfer-Encoding: chunked", 1)
	feed := func(w io.Writer, done <-chan struct{}) {
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("a", 64<<10))
		_, _ = io.WriteString(w, "5\r\ntext=\r\n")
		for range 12 << 4 { // 12 MB in 64 KiB chunks
			select {
			case <-done:
				return
			default:
			}
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, "0\r\n\r\n")
	}
	if status := rawExchange(t, ts, head, feed); status != 413 && status != 400 {
		t.Errorf("chunked 12 MB: got status %d, want 413 or 400", status)
	}
}

// rawExchange sends head on a new connection, then feeds the body (when feed
// is not nil) until the answer has been read, and returns the answer's
// status. It bypasses the contract client, which buffers whole bodies and
// always sends a Content-Length: here the point is what the server answers
// before it has been sent the body, or without knowing its size.
func rawExchange(t *testing.T, ts *testServer, head string, feed func(io.Writer, <-chan struct{})) int {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatalf("write head: %v", err)
	}
	done, fed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		if feed != nil {
			feed(conn, done)
		}
	}()
	defer func() { close(done); conn.Close(); <-fed }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func TestMalformedBodies(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	ct, valid := multipartBody(t, map[string]string{"login": "bob", "password": "secret"}, testPNG(t, 8, 8, false))
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	manyParts := ""
	for i := range 20 {
		manyParts += fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", boundary, i)
	}
	tests := []struct {
		name, path, contentType, body string
	}{
		{"multipart without boundary", "/api/users/register", "multipart/form-data", string(valid)},
		{"multipart with another boundary", "/api/users/register", "multipart/form-data; boundary=nothere", string(valid)},
		{"multipart truncated", "/api/users/register", ct, string(valid[:len(valid)*2/3])},
		{"multipart without its end", "/api/users/register", ct, strings.TrimSuffix(string(valid), "--"+boundary+"--\r\n")},
		{"multipart bad part header", "/api/users/register", ct, "--" + boundary + "\r\nno colon here\r\n\r\nx\r\n--" + boundary + "--\r\n"},
		{"multipart with many parts", "/api/users/register", ct, manyParts + "--" + boundary + "--\r\n"},
		{"multipart field too long", "/api/messages", ct, "--" + boundary + "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n" +
			strings.Repeat("x", 20<<10) + "\r\n--" + boundary + "--\r\n"},
		{"json truncated", "/api/users/login", "application/json", `{"login":"alice",`},
		{"json array", "/api/users/login", "application/json", `["alice","secret"]`},
		{"json string", "/api/messages", "application/json", `"hello"`},
		{"json empty", "/api/messages", "application/json", ``},
		{"json trailing garbage", "/api/messages", "application/json", `{"text":"hi"} and more`},
		{"json two objects", "/api/messages", "application/json", `{"text":"hi"}{"text":"again"}`},
		{"json on register", "/api/users/register", "application/json", `{"login":"bob","password":"secret"}`},
		{"bad urlencoding", "/api/messages", "application/x-www-form-urlencoded", "text=%zz"},
		{"text/plain", "/api/messages", "text/plain", "text=hello"},
		{"xml", "/api/users/login", "application/xml", "<login>alice</login>"},
		{"no content type", "/api/messages", "", "text=hello"},
		{"unparsable content type", "/api/messages", "???", "text=hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(request{method: "POST", path: tt.path, token: token, contentType: tt.contentType, body: []byte(tt.body)})
			if r.status != http.StatusBadRequest {
				t.Fatalf("got status %d (%s), want 400", r.status, r.body)
			}
			if f := r.fields(t); len(f) == 0 {
				t.Errorf("got no field errors, want at least one")
			}
		})
	}
	if n := len(ts.list(token, "")); n != 0 {
		t.Errorf("malformed bodies created %d messages, want none", n)
	}
}

func TestPanicBecomes500(t *testing.T) {
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom: SELECT secret FROM internals")
	})
	srv := httptest.NewServer(withRecovery(boom, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, t: t, client: newContractClient(t)}
	r := ts.do(request{method: "GET", path: "/api/messages", token: "some-token"})
	wantStatus(t, "panic", r, http.StatusInternalServerError, `"error"`)
	if strings.Contains(string(r.body), "boom") || strings.Contains(string(r.body), "SELECT") {
		t.Errorf("500 body %s leaks the panic", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want application/json; charset=utf-8", ct)
	}
}

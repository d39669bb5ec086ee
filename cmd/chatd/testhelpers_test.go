package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
)

// logSink is the log writer of a chatd under test, in-process or a
// subprocess. It keeps every line and hands over the listening address as
// soon as the "chatd listening" line arrives, so tests never guess a port.
type logSink struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	addr    chan string // buffered; receives the address once
	sent    bool
}

func newLogSink() *logSink { return &logSink{addr: make(chan string, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		s.lines = append(s.lines, line)
		if !s.sent {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "chatd listening" && rec.Addr != "" {
				s.addr <- rec.Addr
				s.sent = true
			}
		}
	}
}

// Lines returns the complete lines written so far.
func (s *logSink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// waitAddr returns the address chatd listens on, or fails the test when
// chatd ends first or the wait is over.
func (s *logSink) waitAddr(t *testing.T, life *lifetime, within time.Duration) string {
	t.Helper()
	select {
	case addr := <-s.addr:
		return addr
	case <-life.done:
		t.Fatalf("chatd exited before listening: %v\nlog:\n%s", life.err, strings.Join(s.Lines(), "\n"))
	case <-time.After(within):
		t.Fatalf("chatd did not log %q within %v\nlog:\n%s", "chatd listening", within, strings.Join(s.Lines(), "\n"))
	}
	return ""
}

// lifetime reports when a chatd (run in a goroutine, or a subprocess) ends
// and with what error.
type lifetime struct {
	done chan struct{}
	err  error // set before done is closed
}

// goLifetime runs f in a goroutine.
func goLifetime(f func() error) *lifetime {
	l := &lifetime{done: make(chan struct{})}
	go func() {
		l.err = f()
		close(l.done)
	}()
	return l
}

// wait reports whether f ended within the time, and its error.
func (l *lifetime) wait(within time.Duration) (ended bool, err error) {
	select {
	case <-l.done:
		return true, l.err
	case <-time.After(within):
		return false, nil
	}
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// sentRequest is a request that reached chatd, identified by the
// X-Request-Id it answered with.
type sentRequest struct {
	id, method, path string
	status           int
}

// apiClient speaks to one chatd over real HTTP and remembers every request
// that got an answer, so tests can match them to the log.
type apiClient struct {
	base string // http://host:port
	http *http.Client

	mu   sync.Mutex
	sent []sentRequest
}

func newAPIClient(addr string) *apiClient {
	return &apiClient{base: "http://" + addr, http: &http.Client{Timeout: 60 * time.Second}}
}

// Sent returns the requests answered so far.
func (c *apiClient) Sent() []sentRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sentRequest(nil), c.sent...)
}

// send makes one request; it is safe to call from several goroutines.
func (c *apiClient) send(ctx context.Context, method, path, token, contentType string, body []byte) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	return c.do(c.http, req)
}

// do sends req on hc and records it.
func (c *apiClient) do(hc *http.Client, req *http.Request) (response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)
	}
	c.mu.Lock()
	c.sent = append(c.sent, sentRequest{resp.Header.Get("X-Request-Id"), req.Method, req.URL.Path, resp.StatusCode})
	c.mu.Unlock()
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// must makes a request from the test's goroutine and fails the test when no
// answer comes back.
func (c *apiClient) must(t *testing.T, method, path, token, contentType string, body []byte) response {
	t.Helper()
	r, err := c.send(t.Context(), method, path, token, contentType, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (c *apiClient) get(t *testing.T, path, token string) response {
	t.Helper()
	return c.must(t, http.MethodGet, path, token, "", nil)
}

// form sends fields as application/x-www-form-urlencoded.
func (c *apiClient) form(t *testing.T, method, path, token string, fields url.Values) response {
	t.Helper()
	return c.must(t, method, path, token, "application/x-www-form-urlencoded", []byte(fields.Encode()))
}

// multipart sends fields and an optional image file as multipart/form-data,
// the way the browser client's FormData does.
func (c *apiClient) multipart(t *testing.T, method, path, token string, fields map[string]string, image []byte) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatalf("multipart field %s: %v", k, err)
		}
	}
	if image != nil {
		fw, err := mw.CreateFormFile("image", "avatar.png")
		if err == nil {
			_, err = fw.Write(image)
		}
		if err != nil {
			t.Fatalf("multipart image: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatalf("multipart close: %v", err)
	}
	return c.must(t, method, path, token, mw.FormDataContentType(), buf.Bytes())
}

// waitHealthy polls /healthz until it answers 200.
func (c *apiClient) waitHealthy(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := c.send(t.Context(), http.MethodGet, "/healthz", "", "", nil)
		if err == nil && r.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz: got %d, %v after %v; want 200", r.status, err, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// login logs in and returns the token.
func (c *apiClient) login(t *testing.T, login, password string) string {
	t.Helper()
	r := c.form(t, http.MethodPost, "/api/users/login", "", url.Values{"login": {login}, "password": {password}})
	wantStatus(t, "login", r, http.StatusOK)
	var body struct{ Token string }
	decodeJSON(t, "login", r, &body)
	if body.Token == "" {
		t.Fatalf("login: got no token in %s", r.body)
	}
	return body.Token
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: got status %d, want %d; body %s", what, r.status, status, r.body)
	}
}

// decodeJSON decodes r's body into v.
func decodeJSON(t *testing.T, what string, r response, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s: got Content-Type %q, want application/json; charset=utf-8", what, ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: decode %s: %v", what, r.body, err)
	}
}

// hermeticEnv is a getenv with no CHATD_* variables, so a developer's own
// settings never leak into a test.
func hermeticEnv(string) string { return "" }

func postMessage(t *testing.T, c *apiClient, token, text string) chat.Message {
	t.Helper()
	r := c.form(t, http.MethodPost, "/api/messages", token, url.Values{"text": {text}})
	wantStatus(t, "post", r, http.StatusOK)
	var m chat.Message
	decodeJSON(t, "post", r, &m)
	if m.ID <= 0 || m.Text != text {
		t.Fatalf("post: got %+v, want a positive id and text %q", m, text)
	}
	if now := time.Now().Unix(); m.TimeCreated < now-60 || m.TimeCreated > now+60 {
		t.Errorf("post: got timecreated %d, want about %d", m.TimeCreated, now)
	}
	return m
}

func listMessages(t *testing.T, c *apiClient, token, query string) []chat.Message {
	t.Helper()
	r := c.get(t, "/api/messages"+query, token)
	wantStatus(t, "list "+query, r, http.StatusOK)
	var msgs []chat.Message
	decodeJSON(t, "list "+query, r, &msgs)
	return msgs
}

func messagesEqual(a, b chat.Message) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func ids(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// testPNG returns an opaque w x h PNG.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

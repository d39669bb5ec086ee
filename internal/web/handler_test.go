package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestHandlerServesFiles(t *testing.T) {
	h := Handler()
	tests := []struct {
		path        string
		contentType string
		contains    string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
		{"/index.html", "text/html; charset=utf-8", "<title>chatd</title>"},
		{"/app.js", "text/javascript; charset=utf-8", "import"},
		{"/api.js", "text/javascript; charset=utf-8", "Authorization"},
		{"/i18n.js", "text/javascript; charset=utf-8", "ru"},
		{"/style.css", "text/css; charset=utf-8", ":root"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := get(t, h, tt.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control: got %q, want no-cache", got)
			}
			if b := body(t, res); !strings.Contains(b, tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}
}

func TestHandlerSecurityHeaders(t *testing.T) {
	h := Handler()
	for _, path := range []string{"/", "/app.js", "/no-such-file.js"} {
		res := get(t, h, path, nil)
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{
			"default-src 'self'", "img-src 'self' blob: data:", "connect-src 'self'",
			"style-src 'self'", "script-src 'self'",
		} {
			if !strings.Contains(csp, want+";") && !strings.HasSuffix(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: Content-Security-Policy %q allows unsafe sources", path, csp)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options: got %q, want nosniff", path, got)
		}
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy: got %q, want no-referrer", path, got)
		}
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	h := Handler()
	res := get(t, h, "/app.js", nil)
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag: got %q, want a quoted strong validator", etag)
	}
	res = get(t, h, "/app.js", http.Header{"If-None-Match": {etag}})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: got %d, want 304", etag, res.StatusCode)
	}
	if other := get(t, h, "/style.css", nil).Header.Get("ETag"); other == etag {
		t.Errorf("different files share the ETag %s", etag)
	}
}

func TestHandlerUnknownPaths(t *testing.T) {
	h := Handler()
	for _, path := range []string{"/nope.js", "/static/app.js", "/api/nope", "/../handler.go"} {
		res := get(t, h, path, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", path, res.StatusCode)
		}
		if b := body(t, res); !strings.Contains(b, `"error"`) {
			t.Errorf("%s: body %q is not the API's error shape", path, b)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: got %d, want 405", rec.Code)
	}
}

// htmlSink matches the DOM APIs that parse a string as HTML, and what is
// assigned or passed to them up to the end of the statement.
var htmlSink = regexp.MustCompile(`\.(?:innerHTML|outerHTML)\s*(\+?=)(?:[^=]|$)\s*([^;\n]*)|\binsertAdjacentHTML\s*\(|\bdocument\.write(?:ln)?\s*\(|\bcreateContextualFragment\s*\(`)

// htmlSinks returns the lines of src that hand anything but a constant empty
// string to an HTML parser.
func htmlSinks(src string) []string {
	var bad []string
	for _, line := range strings.Split(src, "\n") {
		for _, m := range htmlSink.FindAllStringSubmatch(line, -1) {
			if m[1] == "=" && (strings.TrimSpace(m[2]) == "''" || strings.TrimSpace(m[2]) == `""`) {
				continue
			}
			bad = append(bad, strings.TrimSpace(line))
		}
	}
	return bad
}

func TestHTMLSinkCheck(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"el.innerHTML = '';", false},
		{`el.innerHTML = "";`, false},
		{"el.textContent = msg.text;", false},
		{"if (el.innerHTML === '') {}", false},
		{"el.innerHTML = msg.text;", true},
		{"el.innerHTML += '<b>';", true},
		{"el.outerHTML = x", true},
		{"el.insertAdjacentHTML('beforeend', s);", true},
		{"document.write(s)", true},
		{"range.createContextualFragment(s)", true},
		{"a.innerHTML = ''; b.innerHTML = text;", true},
	}
	for _, tt := range tests {
		if got := len(htmlSinks(tt.src)) > 0; got != tt.want {
			t.Errorf("htmlSinks(%q): got flagged=%v, want %v", tt.src, got, tt.want)
		}
	}
}

// TestNoHTMLFromStrings keeps user text out of the HTML parser: the client
// builds its DOM with createElement and textContent only.
func TestNoHTMLFromStrings(t *testing.T) {
	scripts := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".js") {
			return err
		}
		scripts++
		src, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, line := range htmlSinks(string(src)) {
			t.Errorf("%s: HTML built from a string: %s", p, line)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk embedded files: %v", err)
	}
	if scripts < 4 {
		t.Fatalf("found %d embedded scripts, want the client's modules", scripts)
	}
}

// TestIndexHasNothingInline checks that the page needs no CSP exception:
// no inline scripts, styles or event handler attributes.
func TestIndexHasNothingInline(t *testing.T) {
	src, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	page := string(src)
	for _, m := range regexp.MustCompile(`<script([^>]*)>([\s\S]*?)</script>`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], " src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("index.html has an inline script: %q", m[0])
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	} {
		for _, m := range re.FindAllString(page, -1) {
			t.Errorf("index.html has inline code: %q", m)
		}
	}
	for _, mod := range regexp.MustCompile(`<script[^>]*src="/([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if _, err := fs.Stat(static, "static/"+mod[1]); err != nil {
			t.Errorf("index.html loads %s, which is not embedded", mod[1])
		}
	}
}

// Package web serves chatd's built-in browser client: static HTML, CSS and
// JavaScript modules embedded in the binary, which talk to the server only
// through the public API.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy allows only the page's own scripts, styles and API
// calls; avatars arrive as blob: URLs made from fetched bytes. Everything the
// client inserts is text, so nothing inline is ever needed.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
	"style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes maps the extensions of the embedded files to their types; a
// fixed table, so the answer does not depend on the host's MIME database.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler returns the handler that serves the client: index.html at "/" and
// the other embedded files by name, each with a strong ETag and
// "Cache-Control: no-cache", so a browser revalidates and a new binary's
// client is picked up at once. Unknown paths get 404.
func Handler() http.Handler {
	files, err := loadFiles(static, "static")
	if err != nil {
		// The files are compiled in; failing here means a broken build, which
		// the package's tests catch. Serve the error rather than panic.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setSecurityHeaders(w.Header())
			http.Error(w, "web client unavailable", http.StatusInternalServerError)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			name = "index.html"
		}
		f, ok := files[name]
		if !ok {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}

// loadFiles reads every file under dir of fsys, keyed by its path below dir.
func loadFiles(fsys fs.FS, dir string) (map[string]file, error) {
	files := make(map[string]file)
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		files[strings.TrimPrefix(p, dir+"/")] = file{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: load embedded files: %w", err)
	}
	return files, nil
}

// setSecurityHeaders sets the headers every answer carries, errors included.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// writeError answers in the API's error shape, since "GET /" also catches
// unknown paths under /api/.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"error\": %q}\n", msg)
}

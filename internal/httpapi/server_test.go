package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
)

// methodSet splits a comma-separated header value into a sorted set.
func methodSet(header string) []string {
	var out []string
	for _, m := range strings.Split(header, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, strings.ToUpper(m))
		}
	}
	slices.Sort(out)
	return out
}

func TestUnrouted(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	tests := []struct {
		method, path string
		status       int
		allow        []string // sorted; for a 405
	}{
		{"GET", "/api/nope", 404, nil},
		{"POST", "/api/nope/deeper", 404, nil},
		{"GET", "/nope", 404, nil},
		{"PATCH", "/api/messages/1", 405, []string{"DELETE", "GET", "OPTIONS", "PUT"}},
		{"POST", "/api/users/authorized", 405, []string{"GET", "OPTIONS"}},
		{"GET", "/api/users/register", 405, []string{"OPTIONS", "POST"}},
		{"PATCH", "/api/messages", 405, []string{"GET", "OPTIONS", "POST"}},
		{"POST", "/api/users/image/1", 405, []string{"GET", "OPTIONS"}},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path
		r := ts.do(request{method: tt.method, path: tt.path, token: token, header: map[string]string{skipContractHeader: "1"}})
		wantStatus(t, name, r, tt.status, "")
		var body errorBody
		r.json(t, &body)
		if body.Error == "" {
			t.Errorf("%s: got body %s, want {\"error\": ...}", name, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: got Content-Type %q, want application/json; charset=utf-8", name, ct)
		}
		if got := methodSet(r.header.Get("Allow")); !slices.Equal(got, tt.allow) {
			t.Errorf("%s: got Allow %v, want %v", name, got, tt.allow)
		}
	}
}

// preflight sends a CORS preflight for POST /api/messages from origin.
func (ts *testServer) preflight(origin string) response {
	ts.t.Helper()
	return ts.do(request{method: "OPTIONS", path: "/api/messages", header: map[string]string{
		skipContractHeader:               "1",
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, content-type",
	}})
}

func TestCORSAnyOrigin(t *testing.T) {
	ts := newTestServer(t)
	r := ts.preflight("null")
	wantStatus(t, "preflight", r, http.StatusNoContent, "")
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" && got != "null" {
		t.Errorf("preflight Access-Control-Allow-Origin: got %q, want * or null", got)
	}
	if got, want := methodSet(r.header.Get("Access-Control-Allow-Methods")), []string{"DELETE", "GET", "OPTIONS", "POST", "PUT"}; !isSubset(want, got) {
		t.Errorf("Access-Control-Allow-Methods: got %v, want at least %v", got, want)
	}
	if got, want := methodSet(r.header.Get("Access-Control-Allow-Headers")), []string{"AUTHORIZATION", "CONTENT-TYPE"}; !isSubset(want, got) {
		t.Errorf("Access-Control-Allow-Headers: got %v, want at least %v", got, want)
	}
	// Answers, errors included, carry the header so a page can read them.
	token, _ := ts.user("alice")
	for name, req := range map[string]request{
		"GET":        {method: "GET", path: "/api/messages", token: token},
		"403":        {method: "GET", path: "/api/messages"},
		"login form": loginForm("alice", "password-alice"),
	} {
		req.header = map[string]string{"Origin": "http://example.com"}
		if got := ts.do(req).header.Get("Access-Control-Allow-Origin"); got != "*" && got != "http://example.com" {
			t.Errorf("%s: got Access-Control-Allow-Origin %q, want * or the origin", name, got)
		}
	}
}

func isSubset(sub, set []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}

func TestCORSAllowList(t *testing.T) {
	const allowed = "https://chat.example.com"
	ts := newTestServerWith(t, func(c *Config) { c.AllowedOrigins = []string{allowed} })
	get := func(origin string) response {
		return ts.do(request{method: "GET", path: "/healthz", header: map[string]string{"Origin": origin}})
	}
	r := get(allowed)
	if got := r.header.Get("Access-Control-Allow-Origin"); got != allowed {
		t.Errorf("listed origin: got Access-Control-Allow-Origin %q, want %q", got, allowed)
	}
	if !slices.Contains(methodSet(strings.Join(r.header.Values("Vary"), ",")), "ORIGIN") {
		t.Errorf("listed origin: got Vary %q, want it to name Origin", r.header.Values("Vary"))
	}
	for name, r := range map[string]response{
		"unlisted GET":       get("https://evil.example.com"),
		"unlisted preflight": ts.preflight("https://evil.example.com"),
		"null preflight":     ts.preflight("null"),
	} {
		if got, ok := r.header["Access-Control-Allow-Origin"]; ok {
			t.Errorf("%s: got Access-Control-Allow-Origin %q, want none", name, got)
		}
	}
}

func TestJSONContentType(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	tests := []struct {
		req    request
		status int
	}{
		{request{method: "GET", path: "/api/users/authorized", token: token}, 200},
		{registerForm("a", "b"), 400},
		{request{method: "GET", path: "/api/messages"}, 403},
		{request{method: "GET", path: "/api/messages/12345", token: token}, 404},
		{request{method: "PUT", path: "/api/users/login", header: map[string]string{skipContractHeader: "1"}}, 405},
		{loginForm("alice", "wrong"), 403},
	}
	for _, tt := range tests {
		name := tt.req.method + " " + tt.req.path
		r := ts.do(tt.req)
		wantStatus(t, name, r, tt.status, "")
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: got Content-Type %q, want application/json; charset=utf-8", name, ct)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t)
	want, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := ts.do(request{method: "GET", path: "/api/openapi.yaml"})
	wantStatus(t, "openapi.yaml", r, http.StatusOK, "")
	if string(r.body) != string(want) {
		t.Errorf("served %d bytes, want the %d bytes of openapi.yaml", len(r.body), len(want))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type: got %q, want application/yaml", ct)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	ts := newTestServer(t)
	wantStatus(t, "healthz", ts.do(request{method: "GET", path: "/healthz"}), 200, `"ok"`)
	wantStatus(t, "readyz", ts.do(request{method: "GET", path: "/readyz"}), 200, `"ok"`)
	if err := ts.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	wantStatus(t, "readyz without a database", ts.do(request{method: "GET", path: "/readyz"}), 503, "")
	wantStatus(t, "healthz without a database", ts.do(request{method: "GET", path: "/healthz"}), 200, "")
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t)
	ts.do(request{method: "GET", path: "/healthz"})
	r := ts.do(request{method: "GET", path: "/metrics"})
	wantStatus(t, "metrics", r, http.StatusOK, "chatd_http_request_duration_seconds")
	if !strings.Contains(string(r.body), `route="GET /healthz"`) {
		t.Errorf("metrics do not count GET /healthz by its route:\n%s", r.body)
	}
	if !strings.Contains(string(r.body), "chatd_realtime_subscribers 0") {
		t.Errorf("metrics lack the realtime subscriber gauge at 0:\n%s", r.body)
	}
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	skip := map[string]string{skipContractHeader: "1"}
	seen := map[string]string{}
	for name, req := range map[string]request{
		"200":       {method: "GET", path: "/api/users/authorized", token: token},
		"400":       registerForm("a", "b"),
		"403":       {method: "GET", path: "/api/messages"},
		"404":       {method: "GET", path: "/api/nope", header: skip},
		"405":       {method: "PATCH", path: "/api/messages/1", header: skip},
		"preflight": {method: "OPTIONS", path: "/api/messages", header: skip},
		"healthz":   {method: "GET", path: "/healthz"},
	} {
		id := ts.do(req).header.Get("X-Request-Id")
		if id == "" {
			t.Errorf("%s: got no X-Request-Id", name)
			continue
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share X-Request-Id %q", name, other, id)
		}
		seen[id] = name
	}
}

// TestTrustedProxies charges failed logins to the client address: behind a
// trusted proxy the one X-Forwarded-For names, otherwise the peer's.
func TestTrustedProxies(t *testing.T) {
	limit := func(c *chat.Config) {
		c.LoginLimit = chat.LoginLimit{Enabled: true, PerLogin: 100, PerAddress: 2, Window: time.Minute}
	}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	fail := func(ts *testServer, forwarded string) int {
		req := loginForm("nobody", "wrong-secret")
		req.header = map[string]string{"X-Forwarded-For": forwarded}
		return ts.do(req).status
	}
	t.Run("trusted", func(t *testing.T) {
		ts := newTestServerWith(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{loopback} }, limit)
		for i, want := range []int{403, 403, 429} {
			if got := fail(ts, "203.0.113.1"); got != want {
				t.Errorf("attempt %d from 203.0.113.1: got %d, want %d", i+1, got, want)
			}
		}
		if got := fail(ts, "203.0.113.2"); got != 403 {
			t.Errorf("first attempt from 203.0.113.2: got %d, want 403 (its own count)", got)
		}
		if got := fail(ts, "198.51.100.7, 203.0.113.1"); got != 429 {
			t.Errorf("203.0.113.1 behind a spoofed hop: got %d, want 429 (the nearest untrusted hop counts)", got)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		ts := newTestServerWith(t, func(*Config) {}, limit)
		for i, forwarded := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
			want := map[bool]int{true: 429, false: 403}[i >= 2]
			if got := fail(ts, forwarded); got != want {
				t.Errorf("attempt %d claiming %s: got %d, want %d (X-Forwarded-For ignored)", i+1, forwarded, got, want)
			}
		}
	})
}

func TestConcurrentRegistration(t *testing.T) {
	ts := newTestServer(t)
	const n = 20
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Several spellings of one login: uniqueness ignores case.
			results[i] = ts.do(registerForm([]string{"racer", "Racer", "RACER"}[i%3], fmt.Sprint("secret-", i)))
		})
	}
	wg.Wait()
	created, taken := 0, 0
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			created++
		case r.status == http.StatusBadRequest && strings.Contains(string(r.body), "is already taken"):
			taken++
		default:
			t.Errorf("got status %d (%s), want 200 or 400 is already taken", r.status, r.body)
		}
	}
	if created != 1 || taken != n-1 {
		t.Errorf("got %d created and %d taken, want 1 and %d", created, taken, n-1)
	}
}

// TestWebClientBesideAPI mounts a client at "/" as chatd does: it must serve
// every other GET, while unknown API paths still answer the contract's JSON.
func TestWebClientBesideAPI(t *testing.T) {
	client := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("web client"))
	})
	ts := newTestServerWith(t, func(c *Config) { c.Web = client })
	skip := map[string]string{skipContractHeader: "1"}
	for _, path := range []string{"/", "/app.js"} {
		wantStatus(t, "GET "+path, ts.do(request{method: "GET", path: path, header: skip}), 200, "web client")
	}
	wantStatus(t, "GET /api/nope", ts.do(request{method: "GET", path: "/api/nope", header: skip}), 404, `"error"`)
	r := ts.do(request{method: "POST", path: "/", header: skip})
	wantStatus(t, "POST /", r, 405, `"error"`)
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("POST / Allow = %q, want GET listed", allow)
	}
}

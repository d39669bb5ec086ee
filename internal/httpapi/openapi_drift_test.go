package httpapi

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// TestContractClientReportsDrift proves that the contract client catches a
// server that departs from the document, and only such a server.
func TestContractClientReportsDrift(t *testing.T) {
	const message = `{"id":1,"text":"hi","userid":1,"username":"alice","timecreated":1700000000,"timeupdated":null}`
	auth := []string{"Authorization", "Bearer some-token"}
	tests := []struct {
		name  string
		req   fakeRequest
		serve http.HandlerFunc
		want  string // a fragment of the single problem wanted; "" wants none
	}{
		{"conforming message", fakeRequest{"GET", "/api/messages/1", "", "", auth},
			fakeJSON(200, message), ""},
		{"message without username", fakeRequest{"GET", "/api/messages/1", "", "", auth},
			fakeJSON(200, `{"id":1,"text":"hi","userid":1,"timecreated":1700000000,"timeupdated":null}`), `"username"`},
		{"message with an extra field", fakeRequest{"GET", "/api/messages/1", "", "", auth},
			fakeJSON(200, strings.Replace(message, "{", `{"sql":"SELECT",`, 1)), `"sql"`},
		{"undocumented status", fakeRequest{"GET", "/api/messages/1", "", "", auth},
			fakeJSON(201, message), "status is not supported"},
		{"JSON without charset", fakeRequest{"GET", "/api/messages/1", "", "", auth},
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, message)
			}, "charset=utf-8"},
		{"error carrying internals", fakeRequest{"GET", "/api/messages/1", "", "", auth},
			fakeJSON(500, `{"error":"internal server error","stack":"main.go:1"}`), `"stack"`},
		{"empty field errors", fakeRequest{"GET", "/api/messages", "", "", auth},
			fakeJSON(400, `{}`), "at least 1 properties"},
		{"undocumented path", fakeRequest{"GET", "/api/nowhere", "", "", auth},
			fakeJSON(404, `{"error":"not found"}`), "not in openapi.yaml"},
		{"deliberate 405 opted out", fakeRequest{"PATCH", "/api/messages/1", "", "", append([]string{skipContractHeader, "1"}, auth...)},
			fakeJSON(405, `{"error":"method not allowed"}`), ""},
		{"opt-out on a documented operation", fakeRequest{"GET", "/api/messages/1", "", "", append([]string{skipContractHeader, "1"}, auth...)},
			fakeJSON(200, message), "do not skip"},
		{"invalid request refused", fakeRequest{"GET", "/api/messages?limit=0", "", "", auth},
			fakeJSON(400, `{"limit":["must be an integer from 1 to 1000"]}`), ""},
		{"lenient begin", fakeRequest{"GET", "/api/messages?limit=5&begin=undefined", "", "", auth},
			fakeJSON(200, `[]`), ""},
		{"non-numeric id refused", fakeRequest{"GET", "/api/messages/abc", "", "", auth},
			fakeJSON(404, `{"error":"not found"}`), ""},
		{"invalid request accepted", fakeRequest{"POST", "/api/users/login", "application/json", `{"login":"ab","password":"secret"}`, nil},
			fakeJSON(200, `{"token":"`+strings.Repeat("A", 43)+`","userid":1,"username":"alice"}`), "minimum string length is 3"},
		{"invalid request failing the server", fakeRequest{"POST", "/api/messages", "application/json", `{"text":""}`, auth},
			fakeJSON(500, `{"error":"internal server error"}`), "not refused with a 4xx"},
		{"form with an unknown field", fakeRequest{"POST", "/api/messages", "application/x-www-form-urlencoded", "text=hi&client=web", auth},
			fakeJSON(200, message), ""},
		{"JSON with a non-string value accepted", fakeRequest{"POST", "/api/messages", "application/json", `{"text":"hi","n":5}`, auth},
			fakeJSON(200, message), "not refused with a 4xx"},
		{"login answered", fakeRequest{"POST", "/api/users/login", "application/x-www-form-urlencoded", "login=alice&password=secret", nil},
			fakeJSON(200, `{"token":"`+strings.Repeat("A", 43)+`","userid":1,"username":"alice"}`), ""},
		{"429 without Retry-After", fakeRequest{"POST", "/api/users/login", "application/json", `{"login":"alice","password":"secret"}`, nil},
			fakeJSON(429, `{"error":"too many failed logins"}`), "Retry-After"},
		{"anonymous request refused", fakeRequest{"GET", "/api/users/authorized", "", "", nil},
			fakeJSON(403, `{"error":"no valid token"}`), ""},
		{"anonymous request served", fakeRequest{"GET", "/api/users/authorized", "", "", nil},
			fakeJSON(200, `{"userid":1,"username":"alice"}`), `no header "Authorization"`},
		{"avatar", fakeRequest{"GET", "/api/users/image/2", "", "", auth},
			fakeAvatar(`"abc"`), ""},
		{"avatar without ETag", fakeRequest{"GET", "/api/users/image/2", "", "", auth},
			fakeAvatar(""), "ETag"},
		{"registration with an avatar file", fakeRegistration(t),
			fakeJSON(200, `{"userid":2,"username":"bob"}`), ""},
		{"event stream by ticket", fakeRequest{"GET", "/api/messages/events?ticket=abc&lastEventId=7", "", "", nil},
			fakeEventStream, ""},
		{"event stream where JSON is documented", fakeRequest{"GET", "/api/messages", "", "", auth},
			fakeEventStream, "text/event-stream is not documented"},
	}
	c := loadContract(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(refuseSkipHeader(t, tt.serve))
			t.Cleanup(srv.Close)
			var problems []error
			report := func(err error) { problems = append(problems, err) }
			client := &http.Client{Transport: &contractTransport{contract: c, report: report}}
			resp, err := client.Do(tt.req.build(t, srv.URL))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			resp.Body.Close()
			switch {
			case tt.want == "" && len(problems) > 0:
				t.Errorf("got problems %v, want none", problems)
			case tt.want != "" && len(problems) != 1:
				t.Errorf("got %d problems %v, want one containing %q", len(problems), problems, tt.want)
			case tt.want != "" && !strings.Contains(problems[0].Error(), tt.want):
				t.Errorf("got problem %q, want one containing %q", problems[0], tt.want)
			}
		})
	}
}

// TestContractClientKeepsBodies checks that validation leaves the request
// body for the server and the response body for the test.
func TestContractClientKeepsBodies(t *testing.T) {
	const message = `{"id":1,"text":"hi","userid":1,"username":"alice","timecreated":1700000000,"timeupdated":5}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.FormValue("text"), "hi"; got != want {
			t.Errorf("server got text %q, want %q", got, want)
		}
		fakeJSON(200, message)(w, r)
	}))
	t.Cleanup(srv.Close)
	req := fakeRequest{"POST", "/api/messages", "application/x-www-form-urlencoded", "text=hi",
		[]string{"Authorization", "tok", "Idempotency-Key", "k-1"}}
	resp, err := newContractClient(t).Do(req.build(t, srv.URL))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if string(got) != message {
		t.Errorf("got body %s, want %s", got, message)
	}
}

// fakeRequest describes a request of the self-tests; header holds name, value pairs.
type fakeRequest struct {
	method, path, contentType, body string
	header                          []string
}

func (tr fakeRequest) build(t *testing.T, base string) *http.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	var body io.Reader
	if tr.body != "" {
		body = strings.NewReader(tr.body)
	}
	req, err := http.NewRequestWithContext(ctx, tr.method, base+tr.path, body)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if tr.contentType != "" {
		req.Header.Set("Content-Type", tr.contentType)
	}
	for i := 0; i+1 < len(tr.header); i += 2 {
		req.Header.Set(tr.header[i], tr.header[i+1])
	}
	return req
}

// fakeRegistration is a multipart registration carrying an avatar file part.
func fakeRegistration(t *testing.T) fakeRequest {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="image"; filename="a.png"`},
		"Content-Type":        {"image/png"},
	})
	if err != nil {
		t.Fatal(err)
	}
	part.Write([]byte("\x89PNG\r\n\x1a\n not really"))
	mw.WriteField("login", "bob")
	mw.WriteField("password", "secret")
	mw.WriteField("client", "web") // unknown fields are ignored, so allowed
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return fakeRequest{"POST", "/api/users/register", mw.FormDataContentType(), buf.String(), nil}
}

// refuseSkipHeader fails t when a test-only header reaches the server.
func refuseSkipHeader(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(skipContractHeader) != "" {
			t.Errorf("server got test header %s, want it stripped", skipContractHeader)
		}
		next.ServeHTTP(w, r)
	})
}

func fakeJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// fakeAvatar answers a PNG avatar with the contract's headers; etag "" leaves ETag out.
func fakeAvatar(etag string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "image/png")
		h.Set("Content-Length", "4")
		h.Set("Cache-Control", "private, no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'")
		if etag != "" {
			h.Set("ETag", etag)
		}
		io.WriteString(w, "\x89PNG")
	}
}

// fakeEventStream is an event stream that only ends when the client leaves, so
// a client that read it to the end would hang.
func fakeEventStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": connected\n\n")
	http.NewResponseController(w).Flush()
	<-r.Context().Done()
}

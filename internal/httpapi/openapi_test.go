package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Request headers with which a test tells the contract client what it means to
// send. The client strips them, so the server never sees them.
const (
	// skipContractHeader ("X-Test-Skip-Contract: 1") takes a request out of
	// the contract entirely. It is for requests the document deliberately
	// does not describe: unknown paths (404), other methods (405), CORS
	// preflights, the web client at "/". A request that matches a documented
	// operation may not carry it.
	skipContractHeader = "X-Test-Skip-Contract"
	// invalidRequestHeader ("X-Test-Invalid-Request: 1") marks a request that
	// deliberately breaks the document (a login of two characters, limit=0,
	// a missing field, a non-numeric path id): the client checks that the
	// request does break it and still validates the response.
	invalidRequestHeader = "X-Test-Invalid-Request"
)

// newContractClient returns a client for a test server of this package that
// checks every exchange against openapi.yaml: the request must match a
// documented operation and conform to it, and the response must be one the
// operation documents (status, headers, body). Every departure fails t, naming
// method, path and status. Event streams are not read: only their status and
// headers are checked.
func newContractClient(t *testing.T) *http.Client {
	t.Helper()
	c := loadContract(t)
	report := func(err error) { t.Errorf("contract: %v", err) }
	return &http.Client{Transport: &contractTransport{contract: c, report: report}}
}

// contractTransport reports every contract problem of the exchanges it carries.
type contractTransport struct {
	contract *contract
	report   func(error)
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, problems, err := ct.contract.exchange(req)
	for _, p := range problems {
		ct.report(p)
	}
	return resp, err
}

// contract validates exchanges against the OpenAPI document.
type contract struct {
	router routers.Router
	next   http.RoundTripper
}

// loadOpenAPI reads and validates the package's openapi.yaml.
func loadOpenAPI(tb testing.TB) *openapi3.T {
	tb.Helper()
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		tb.Fatalf("read OpenAPI document: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		tb.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func loadContract(tb testing.TB) *contract {
	tb.Helper()
	doc := loadOpenAPI(tb)
	// Without servers the router matches the path alone, so any test
	// server's host and port match.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		tb.Fatalf("route openapi.yaml: %v", err)
	}
	return &contract{router: router, next: http.DefaultTransport}
}

// exchange sends req and returns the response with every way in which the
// exchange departs from the document. The response body, except an event
// stream's, has been read and is replaced by a copy.
func (c *contract) exchange(req *http.Request) (*http.Response, []error, error) {
	body, err := drainBody(req)
	if err != nil {
		return nil, nil, fmt.Errorf("contract: read request body: %w", err)
	}
	skip := req.Header.Get(skipContractHeader) != ""
	invalid := req.Header.Get(invalidRequestHeader) != ""
	out := cloneWithBody(req, body)
	out.Header.Del(skipContractHeader)
	out.Header.Del(invalidRequestHeader)

	route, pathParams, routeErr := c.router.FindRoute(out)
	var problems []error
	var input *openapi3filter.RequestValidationInput
	switch {
	case skip && routeErr == nil:
		problems = append(problems, fmt.Errorf("%s is documented as %s %s; do not skip it", skipContractHeader, route.Method, route.Path))
	case skip:
	case routeErr != nil:
		problems = append(problems, fmt.Errorf("not in openapi.yaml (%v); a deliberate 404/405 sets %s", routeErr, skipContractHeader))
	default:
		input = requestInput(cloneWithBody(out, body), route, pathParams)
		problems = append(problems, checkRequest(input, invalid)...)
	}

	resp, err := c.next.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	if input != nil {
		problems = append(problems, checkResponse(input, resp)...)
	}
	for i, p := range problems {
		problems[i] = fmt.Errorf("%s %s -> %d: %w", req.Method, req.URL.RequestURI(), resp.StatusCode, p)
	}
	return resp, problems, nil
}

// drainBody reads and closes req's body, as a RoundTripper must close it.
func drainBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// cloneWithBody returns a copy of req that carries body and can replay it.
func cloneWithBody(req *http.Request, body []byte) *http.Request {
	c := req.Clone(req.Context())
	if body == nil {
		c.Body, c.GetBody, c.ContentLength = http.NoBody, nil, 0
		return c
	}
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	c.Body, _ = c.GetBody()
	c.ContentLength = int64(len(body))
	return c
}

func requestInput(req *http.Request, route *routers.Route, pathParams map[string]string) *openapi3filter.RequestValidationInput {
	opts := &openapi3filter.Options{
		AuthenticationFunc:                credentialPresent,
		IncludeResponseStatus:             true,
		MultiError:                        true,
		SkipSettingDefaults:               true,
		RejectWhenRequestBodyNotSpecified: true,
	}
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return fmt.Sprintf("value at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
	})
	if anonymous(route, req) {
		// A request without any credential is not validated for one: the
		// contract answers it (403, or 400 on logout), and checkResponse makes
		// sure it was refused.
		opts.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
	}
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
}

// credentialPresent accepts any credential the scheme names; whether it is
// valid is the server's to decide.
func credentialPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if !hasCredential(in.RequestValidationInput.Request, in.SecurityScheme) {
		return in.NewError(fmt.Errorf("no %s %q", in.SecurityScheme.In, in.SecurityScheme.Name))
	}
	return nil
}

func hasCredential(req *http.Request, scheme *openapi3.SecurityScheme) bool {
	switch scheme.In {
	case "header":
		return req.Header.Get(scheme.Name) != ""
	case "query":
		return req.URL.Query().Get(scheme.Name) != ""
	}
	return false
}

// anonymous reports whether route requires a credential and req carries none.
func anonymous(route *routers.Route, req *http.Request) bool {
	security := route.Spec.Security
	if route.Operation.Security != nil {
		security = *route.Operation.Security
	}
	for _, requirement := range security {
		if len(requirement) == 0 {
			return false
		}
		for name := range requirement {
			scheme := route.Spec.Components.SecuritySchemes[name]
			if scheme != nil && scheme.Value != nil && hasCredential(req, scheme.Value) {
				return false
			}
		}
	}
	return len(security) > 0
}

func checkRequest(input *openapi3filter.RequestValidationInput, wantInvalid bool) []error {
	err := openapi3filter.ValidateRequest(input.Request.Context(), input)
	switch {
	case err == nil && wantInvalid:
		return []error{fmt.Errorf("request carries %s but conforms to openapi.yaml", invalidRequestHeader)}
	case err != nil && !wantInvalid:
		return []error{fmt.Errorf("request breaks openapi.yaml (set %s if deliberate): %w", invalidRequestHeader, err)}
	}
	return nil
}

// checkResponse validates resp against the operation of input. It reads the
// body and replaces it with a copy, except an event stream's, which may never
// end: only its status and headers are checked.
func checkResponse(input *openapi3filter.RequestValidationInput, resp *http.Response) []error {
	var problems []error
	if anonymous(input.Route, input.Request) && resp.StatusCode < 400 {
		problems = append(problems, errors.New("a request without a credential was not refused, but openapi.yaml requires one"))
	}
	opts := *input.Options
	ri := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: resp.StatusCode, Header: resp.Header, Options: &opts,
	}
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if media == "text/event-stream" {
		opts.ExcludeResponseBody = true
		if !documentsMedia(input.Route, resp.StatusCode, media) {
			problems = append(problems, fmt.Errorf("response media type %s is not documented", media))
		}
	} else {
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		if err != nil {
			problems = append(problems, fmt.Errorf("read response body: %w", err))
		}
		ri.SetBodyBytes(data)
	}
	if media == "application/json" && resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		problems = append(problems, fmt.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), "application/json; charset=utf-8"))
	}
	if err := openapi3filter.ValidateResponse(input.Request.Context(), ri); err != nil {
		problems = append(problems, fmt.Errorf("response breaks openapi.yaml: %w", err))
	}
	return problems
}

// documentsMedia reports whether route's response for status lists media.
func documentsMedia(route *routers.Route, status int, media string) bool {
	ref := route.Operation.Responses.Status(status)
	return ref != nil && ref.Value != nil && ref.Value.Content.Get(media) != nil
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Errorf("openapi.yaml is not valid: %v", err)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi version: got %q, want %q", got, want)
	}
}

// routePattern matches the method patterns of routes.go, such as
// mux.Handle("GET /api/messages/{id}", ...).
var routePattern = regexp.MustCompile(`\.Handle(?:Func)?\(\s*"([A-Z]+) ([^"\s]+)"`)

func TestOpenAPICoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatalf("read routes.go, where every route is registered: %v", err)
	}
	var registered []string
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		method, path := m[1], strings.TrimSuffix(m[2], "{$}")
		if method == http.MethodOptions || (method == http.MethodGet && path == "/") {
			continue // CORS preflights and the web client are not part of the API document
		}
		registered = append(registered, method+" "+path)
	}
	if len(registered) == 0 {
		t.Fatal(`routes.go registers no route of the form mux.Handle("METHOD /path", ...); the coverage check would be vacuous`)
	}

	var documented []string
	doc := loadOpenAPI(t)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is registered in routes.go but not documented in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("operation %q is documented in openapi.yaml but not registered in routes.go", d)
		}
	}
}

// TestContractClientReportsDrift proves that the contract client catches a
// server that departs from the document, and only such a server.
func TestContractClientReportsDrift(t *testing.T) {
	const message = `{"id":1,"text":"hi","userid":1,"username":"alice","timecreated":1700000000,"timeupdated":null}`
	auth := []string{"Authorization", "Bearer some-token"}
	tests := []struct {
		name  string
		req   testRequest
		serve http.HandlerFunc
		want  string // a fragment of the single problem wanted; "" wants none
	}{
		{"conforming message", testRequest{"GET", "/api/messages/1", "", "", auth},
			reply(200, message), ""},
		{"message without username", testRequest{"GET", "/api/messages/1", "", "", auth},
			reply(200, `{"id":1,"text":"hi","userid":1,"timecreated":1700000000,"timeupdated":null}`), `"username"`},
		{"message with an extra field", testRequest{"GET", "/api/messages/1", "", "", auth},
			reply(200, strings.Replace(message, "{", `{"sql":"SELECT",`, 1)), `"sql"`},
		{"undocumented status", testRequest{"GET", "/api/messages/1", "", "", auth},
			reply(201, message), "status is not supported"},
		{"JSON without charset", testRequest{"GET", "/api/messages/1", "", "", auth},
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, message)
			}, "charset=utf-8"},
		{"error carrying internals", testRequest{"GET", "/api/messages/1", "", "", auth},
			reply(500, `{"error":"internal server error","stack":"main.go:1"}`), `"stack"`},
		{"empty field errors", testRequest{"GET", "/api/messages", "", "", auth},
			reply(400, `{}`), "at least 1 properties"},
		{"undocumented path", testRequest{"GET", "/api/nowhere", "", "", auth},
			reply(404, `{"error":"not found"}`), "not in openapi.yaml"},
		{"deliberate 405 opted out", testRequest{"PATCH", "/api/messages/1", "", "", append([]string{skipContractHeader, "1"}, auth...)},
			reply(405, `{"error":"method not allowed"}`), ""},
		{"opt-out on a documented operation", testRequest{"GET", "/api/messages/1", "", "", append([]string{skipContractHeader, "1"}, auth...)},
			reply(200, message), "do not skip"},
		{"deliberately invalid request", testRequest{"GET", "/api/messages?limit=0", "", "", append([]string{invalidRequestHeader, "1"}, auth...)},
			reply(400, `{"limit":["must be an integer from 1 to 1000"]}`), ""},
		{"invalid marker on a conforming request", testRequest{"GET", "/api/messages?limit=5&begin=undefined", "", "", append([]string{invalidRequestHeader, "1"}, auth...)},
			reply(200, `[]`), "conforms"},
		{"unmarked request breaking the document", testRequest{"POST", "/api/users/login", "application/json", `{"login":"ab","password":"secret"}`, nil},
			reply(400, `{"login":["must be at least 3 characters"]}`), "request breaks"},
		{"login answered", testRequest{"POST", "/api/users/login", "application/x-www-form-urlencoded", "login=alice&password=secret", nil},
			reply(200, `{"token":"`+strings.Repeat("A", 43)+`","userid":1,"username":"alice"}`), ""},
		{"429 without Retry-After", testRequest{"POST", "/api/users/login", "application/json", `{"login":"alice","password":"secret"}`, nil},
			reply(429, `{"error":"too many failed logins"}`), "Retry-After"},
		{"anonymous request refused", testRequest{"GET", "/api/users/authorized", "", "", nil},
			reply(403, `{"error":"no valid token"}`), ""},
		{"anonymous request served", testRequest{"GET", "/api/users/authorized", "", "", nil},
			reply(200, `{"userid":1,"username":"alice"}`), "without a credential"},
		{"avatar", testRequest{"GET", "/api/users/image/2", "", "", auth},
			avatar(`"abc"`), ""},
		{"avatar without ETag", testRequest{"GET", "/api/users/image/2", "", "", auth},
			avatar(""), "ETag"},
		{"registration with an avatar file", registration(t),
			reply(200, `{"userid":2,"username":"bob"}`), ""},
		{"event stream by ticket", testRequest{"GET", "/api/messages/events?ticket=abc&lastEventId=7", "", "", nil},
			endlessStream, ""},
	}
	c := loadContract(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(refuseTestHeaders(t, tt.serve))
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
		reply(200, message)(w, r)
	}))
	t.Cleanup(srv.Close)
	req := testRequest{"POST", "/api/messages", "application/x-www-form-urlencoded", "text=hi",
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

// testRequest describes a request of the self-tests; header holds name, value pairs.
type testRequest struct {
	method, path, contentType, body string
	header                          []string
}

func (tr testRequest) build(t *testing.T, base string) *http.Request {
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

// registration is a multipart registration carrying an avatar file part.
func registration(t *testing.T) testRequest {
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
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return testRequest{"POST", "/api/users/register", mw.FormDataContentType(), buf.String(), nil}
}

// refuseTestHeaders fails t when a test-only header reaches the server.
func refuseTestHeaders(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{skipContractHeader, invalidRequestHeader} {
			if r.Header.Get(h) != "" {
				t.Errorf("server got test header %s, want it stripped", h)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// avatar answers a PNG avatar with the contract's headers; etag "" leaves ETag out.
func avatar(etag string) http.HandlerFunc {
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

// endlessStream is an event stream that only ends when the client leaves, so
// a client that read it to the end would hang.
func endlessStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": connected\n\n")
	http.NewResponseController(w).Flush()
	<-r.Context().Done()
}

package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// skipContractHeader ("X-Test-Skip-Contract: 1") on a request takes it out of
// the contract client's checks. It is for requests the document deliberately
// does not describe: unknown paths (404), other methods of a known path (405),
// CORS preflights, the web client at "/". A request that matches a documented
// operation may not carry it. The client strips it before sending.
const skipContractHeader = "X-Test-Skip-Contract"

// newContractClient returns a client for a test server of this package that
// checks every exchange against openapi.yaml. The request must match a
// documented operation. The response must be one the operation documents:
// status, headers, media type, body. A request that breaks the document (a
// two-character login, limit=0, a missing field or token, a non-numeric path
// id) is fine as long as the server refuses it with a 4xx; accepting it, or
// failing with a 5xx, means the document and the server disagree. Every
// problem fails t, naming method, path and status. Event streams are not read:
// only their status and headers are checked.
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
	doc := parseOpenAPI(tb)
	if err := doc.Validate(tb.Context()); err != nil {
		tb.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// parseOpenAPI reads the package's openapi.yaml and resolves its references.
func parseOpenAPI(tb testing.TB) *openapi3.T {
	tb.Helper()
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		tb.Fatalf("read OpenAPI document: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		tb.Fatalf("load openapi.yaml: %v", err)
	}
	return doc
}

func loadContract(tb testing.TB) *contract {
	tb.Helper()
	doc := parseOpenAPI(tb)
	// Without servers the router matches the path alone, so any test
	// server's host and port match.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc) // validates the document too
	if err != nil {
		tb.Fatalf("route openapi.yaml: %v", err)
	}
	return &contract{router: router, next: http.DefaultTransport}
}

// exchange sends req and returns the response with every way in which the
// exchange departs from the document. The response body, except an event
// stream's, has been read and is replaced by a copy.
func (c *contract) exchange(req *http.Request) (*http.Response, []error, error) {
	body, err := drainRequestBody(req)
	if err != nil {
		return nil, nil, fmt.Errorf("contract: read request body: %w", err)
	}
	skip := req.Header.Get(skipContractHeader) != ""
	out := cloneRequestWithBody(req, body)
	out.Header.Del(skipContractHeader)

	route, pathParams, routeErr := c.router.FindRoute(out)
	var problems []error
	var input *openapi3filter.RequestValidationInput
	var reqErr error
	switch {
	case skip && routeErr == nil:
		problems = append(problems, fmt.Errorf("%s is documented as %s %s; do not skip it", skipContractHeader, route.Method, route.Path))
	case skip:
	case routeErr != nil:
		problems = append(problems, fmt.Errorf("not in openapi.yaml (%v); a deliberate 404/405 sets %s", routeErr, skipContractHeader))
	default:
		input = contractInput(cloneRequestWithBody(out, body), route, pathParams)
		reqErr = openapi3filter.ValidateRequest(input.Request.Context(), input)
	}

	resp, err := c.next.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		problems = append(problems, fmt.Errorf("a request that breaks openapi.yaml was not refused with a 4xx: %w", reqErr))
	}
	if input != nil {
		problems = append(problems, checkContractResponse(input, resp)...)
	}
	for i, p := range problems {
		problems[i] = fmt.Errorf("%s %s -> %d: %w", req.Method, req.URL.RequestURI(), resp.StatusCode, p)
	}
	return resp, problems, nil
}

// drainRequestBody reads and closes req's body, as a RoundTripper must close it.
func drainRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

// cloneRequestWithBody returns a copy of req that carries body and can replay it.
func cloneRequestWithBody(req *http.Request, body []byte) *http.Request {
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

func contractInput(req *http.Request, route *routers.Route, pathParams map[string]string) *openapi3filter.RequestValidationInput {
	opts := &openapi3filter.Options{
		AuthenticationFunc:    credentialPresent,
		IncludeResponseStatus: true,
		MultiError:            true,
		SkipSettingDefaults:   true,
	}
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return fmt.Sprintf("value at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
	})
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

// checkContractResponse validates resp against the operation of input. It reads the
// body and replaces it with a copy, except an event stream's, which may never
// end: only its status and headers are checked.
func checkContractResponse(input *openapi3filter.RequestValidationInput, resp *http.Response) []error {
	var problems []error
	opts := *input.Options
	ri := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: resp.StatusCode, Header: resp.Header, Options: &opts,
	}
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if media == "text/event-stream" {
		opts.ExcludeResponseBody = true
		if !contractDocumentsMedia(input.Route, resp.StatusCode, media) {
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

// contractDocumentsMedia reports whether route's response for status lists media.
func contractDocumentsMedia(route *routers.Route, status int, media string) bool {
	ref := route.Operation.Responses.Status(status)
	return ref != nil && ref.Value != nil && ref.Value.Content.Get(media) != nil
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t) // loads, resolves and validates it
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi version: got %q, want %q", got, want)
	}
	if doc.Paths.Len() == 0 {
		t.Error("openapi.yaml documents no path")
	}
}

// routePatternRE matches the method patterns of routes.go, such as
// "GET /api/messages/{id}" in mux.Handle("GET /api/messages/{id}", ...),
// however the registration is spelled.
var routePatternRE = regexp.MustCompile(`"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/[^"\s]*)"`)

func TestOpenAPICoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatalf("read routes.go, where every route is registered: %v", err)
	}
	var registered []string
	for _, m := range routePatternRE.FindAllStringSubmatch(string(src), -1) {
		method, path := m[1], strings.TrimSuffix(m[2], "{$}")
		if method == http.MethodOptions || (method == http.MethodGet && (path == "/" || path == "/api/")) {
			continue // CORS preflights, the web client and the JSON 404 catch-all are not part of the API
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

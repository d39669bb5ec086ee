package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chatd/internal/avatar"
	"chatd/internal/chat"
	"chatd/internal/pgtest"
	"chatd/internal/postgres"
	"chatd/internal/realtime"
	"chatd/internal/sqlite"
)

// cheapArgon2 keeps tests fast; the default parameters are tested in chat.
var cheapArgon2 = chat.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

// testServer is the real API over a real HTTP server on a fresh SQLite file.
// Every request it sends and every response it gets is checked against
// openapi.yaml.
type testServer struct {
	*httptest.Server
	t      *testing.T
	client *http.Client
	store  chat.Store
}

// newTestServer starts a server; adjust may change the service's config.
func newTestServer(t *testing.T, adjust ...func(*chat.Config)) *testServer {
	t.Helper()
	return newTestServerWith(t, nil, adjust...)
}

// newTestServerWith is newTestServer with a say over the API's own Config
// (origins, proxies) too.
func newTestServerWith(t *testing.T, api func(*Config), adjust ...func(*chat.Config)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := openTestStore(t)
	cfg := chat.Config{
		Hasher:       chat.NewPasswordHasher(cheapArgon2, 4),
		ProcessImage: avatar.NewProcessor(2).Process,
		LoginLimit:   chat.DefaultLoginLimit(),
	}
	for _, f := range adjust {
		f(&cfg)
	}
	svc, err := chat.NewService(store, cfg)
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	hub := realtime.NewHub(store, nil, realtime.Options{})
	hubDone := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(hubDone) }()
	apiCfg := Config{Service: svc, Feed: hub, Ready: store.Ping}
	if api != nil {
		api(&apiCfg)
	}
	srv := httptest.NewServer(NewServer(apiCfg))
	t.Cleanup(func() {
		cancel()
		<-hubDone
		srv.Close()
		store.Close()
	})
	return &testServer{Server: srv, t: t, client: newContractClient(t), store: store}
}

// openTestStore opens a fresh store: SQLite in t.TempDir(), or PostgreSQL in
// a schema of its own when the suite runs on PostgreSQL (see TestMain).
func openTestStore(t *testing.T) chat.Store {
	t.Helper()
	var (
		store chat.Store
		err   error
	)
	if os.Getenv(storeEnv) == "postgres" {
		store, err = postgres.Open(t.Context(), pgtest.SchemaURL(t), postgres.Options{})
	} else {
		store, err = sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "chatd.db"), sqlite.Options{})
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return store
}

// response is what a test needs of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test when it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode body %q: %v", r.body, err)
	}
}

// fields returns the field errors of a 400 answer.
func (r response) fields(t *testing.T) map[string][]string {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400; body %s", r.status, r.body)
	}
	var f map[string][]string
	r.json(t, &f)
	return f
}

// request is one request to send; zero fields are left out.
type request struct {
	method, path, token string
	contentType         string
	body                []byte
	header              map[string]string
}

func (ts *testServer) do(req request) response {
	ts.t.Helper()
	r, err := http.NewRequest(req.method, ts.URL+req.path, bytes.NewReader(req.body))
	if err != nil {
		ts.t.Fatalf("new request: %v", err)
	}
	if req.token != "" {
		r.Header.Set("Authorization", req.token)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := ts.client.Do(r)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("read body of %s %s: %v", req.method, req.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// form sends urlencoded fields.
func (ts *testServer) form(method, path, token string, fields url.Values) response {
	ts.t.Helper()
	return ts.do(request{method: method, path: path, token: token,
		contentType: "application/x-www-form-urlencoded", body: []byte(fields.Encode())})
}

// multipartBody builds a multipart/form-data body with fields and, when
// file is not nil, an "image" file part.
func multipartBody(t *testing.T, fields map[string]string, file []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("image", "avatar.bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func (ts *testServer) multipart(method, path, token string, fields map[string]string, file []byte) response {
	ts.t.Helper()
	ct, body := multipartBody(ts.t, fields, file)
	return ts.do(request{method: method, path: path, token: token, contentType: ct, body: body})
}

// register creates a user and returns its id.
func (ts *testServer) register(login, password string) int64 {
	ts.t.Helper()
	r := ts.form("POST", "/api/users/register", "", url.Values{"login": {login}, "password": {password}})
	if r.status != http.StatusOK {
		ts.t.Fatalf("register %s: status %d, body %s", login, r.status, r.body)
	}
	var u struct{ UserID int64 }
	r.json(ts.t, &u)
	return u.UserID
}

// login returns a fresh token.
func (ts *testServer) login(login, password string) string {
	ts.t.Helper()
	r := ts.form("POST", "/api/users/login", "", url.Values{"login": {login}, "password": {password}})
	if r.status != http.StatusOK {
		ts.t.Fatalf("login %s: status %d, body %s", login, r.status, r.body)
	}
	var res struct{ Token string }
	r.json(ts.t, &res)
	return res.Token
}

// user registers login and returns a token and the user id.
func (ts *testServer) user(login string) (string, int64) {
	ts.t.Helper()
	id := ts.register(login, "password-"+login)
	return ts.login(login, "password-"+login), id
}

// post creates a message and returns it.
func (ts *testServer) post(token, text string) chat.Message {
	ts.t.Helper()
	r := ts.form("POST", "/api/messages", token, url.Values{"text": {text}})
	if r.status != http.StatusOK {
		ts.t.Fatalf("post %q: status %d, body %s", text, r.status, r.body)
	}
	var m chat.Message
	r.json(ts.t, &m)
	return m
}

// list GETs /api/messages with a query and returns the messages.
func (ts *testServer) list(token, query string) []chat.Message {
	ts.t.Helper()
	r := ts.do(request{method: "GET", path: "/api/messages" + query, token: token})
	if r.status != http.StatusOK {
		ts.t.Fatalf("list %s: status %d, body %s", query, r.status, r.body)
	}
	var msgs []chat.Message
	r.json(ts.t, &msgs)
	return msgs
}

// wantStatus fails the test unless r has status and, when fragment is set,
// a body containing it.
func wantStatus(t *testing.T, name string, r response, status int, fragment string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status = %d, want %d; body %s", name, r.status, status, r.body)
		return
	}
	if fragment != "" && !strings.Contains(string(r.body), fragment) {
		t.Errorf("%s: body = %s, want it to contain %q", name, r.body, fragment)
	}
}

func ids(msgs []chat.Message) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprint(m.ID)
	}
	return strings.Join(parts, ",")
}

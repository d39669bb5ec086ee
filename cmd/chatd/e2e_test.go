package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/pgtest"
)

// TestRunJourneySQLite runs the whole program in-process on a SQLite file:
// a user's whole journey over real HTTP, then a graceful shutdown while a
// long poll waits and an event stream is open, then a check of the log.
func TestRunJourneySQLite(t *testing.T) {
	testJourney(t, filepath.Join(t.TempDir(), "chatd.db"))
}

func testJourney(t *testing.T, db string) {
	p := startInProcess(t, db)
	secrets := walkJourney(t, p.client)
	token := p.client.login(t, journeyLogin, journeyPassword)
	secrets = append(secrets, secret{"the second token", token})
	last := listMessages(t, p.client, token, "")
	if len(last) == 0 {
		t.Fatal("no messages left after the journey; the shutdown poll needs a cursor")
	}
	checkGracefulShutdown(t, p, token, last[len(last)-1].ID)
	checkLogs(t, p.logs.Lines(), p.client.Sent(), secrets)
}

// inProcess is run() on a goroutine of the test.
type inProcess struct {
	client *apiClient
	logs   *logSink
	stop   context.CancelFunc
	life   *lifetime
}

// startInProcess runs chatd on a free port with JSON logs and waits until it
// is healthy. It is stopped when the test ends, if the test did not stop it.
func startInProcess(t *testing.T, db string) *inProcess {
	t.Helper()
	logs := newLogSink()
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"-addr", "127.0.0.1:0", "-db", db, "-log-format", "json"}
	life := goLifetime(func() error { return run(ctx, args, hermeticEnv, io.Discard, logs) })
	t.Cleanup(func() {
		cancel()
		if ended, _ := life.wait(30 * time.Second); !ended {
			t.Error("run did not return within 30s of cancelling its context")
		}
	})
	p := &inProcess{client: newAPIClient(logs.waitAddr(t, life, 30*time.Second)), logs: logs, stop: cancel, life: life}
	p.client.waitHealthy(t, 10*time.Second)
	return p
}

const (
	journeyLogin    = "Journey_User"
	journeyPassword = "correct horse battery staple"
)

// secret is a value that must never appear in a log line.
type secret struct{ what, value string }

// walkJourney is one user's life over the API, on a fresh database: register
// with an avatar, log in, post, list, long poll, edit, delete, fetch the
// avatar, log out. It returns what the log must never show.
func walkJourney(t *testing.T, c *apiClient) []secret {
	t.Helper()
	r := c.multipart(t, http.MethodPost, "/api/users/register", "",
		map[string]string{"login": journeyLogin, "password": journeyPassword}, testPNG(t, 600, 300))
	wantStatus(t, "register", r, http.StatusOK)
	var user struct {
		UserID   int64  `json:"userid"`
		Username string `json:"username"`
	}
	decodeJSON(t, "register", r, &user)
	if user.UserID <= 0 || user.Username != journeyLogin {
		t.Fatalf("register: got %+v, want a positive userid and username %q", user, journeyLogin)
	}

	token := c.login(t, strings.ToLower(journeyLogin), journeyPassword)
	r = c.get(t, "/api/users/authorized", token)
	wantStatus(t, "authorized", r, http.StatusOK)
	var me struct {
		UserID   int64  `json:"userid"`
		Username string `json:"username"`
	}
	decodeJSON(t, "authorized", r, &me)
	if me != user {
		t.Errorf("authorized: got %+v, want %+v", me, user)
	}

	first := postMessage(t, c, token, "hello from the journey")
	if first.UserID != user.UserID || first.Username != journeyLogin || first.TimeUpdated != nil {
		t.Errorf("post: got %+v, want userid %d, username %q, timeupdated null", first, user.UserID, journeyLogin)
	}
	if got := ids(listMessages(t, c, token, "")); !slices.Equal(got, []int64{first.ID}) {
		t.Errorf("list: got ids %v, want [%d]", got, first.ID)
	}

	second := longPollAnsweredByPost(t, c, token, first.ID, "an answer to the long poll")
	edited := editMessage(t, c, token, second.ID, "edited text of the journey")
	deleteMessage(t, c, token, first.ID)
	if got := listMessages(t, c, token, ""); !slices.EqualFunc(got, []chat.Message{edited}, messagesEqual) {
		t.Errorf("list after edit and delete: got %+v, want [%+v]", got, edited)
	}
	checkAvatar(t, c, token, user.UserID)

	wantStatus(t, "logout", c.must(t, http.MethodPost, "/api/users/logout", token, "", nil), http.StatusOK)
	wantStatus(t, "authorized after logout", c.get(t, "/api/users/authorized", token), http.StatusForbidden)
	return []secret{
		{"the password", journeyPassword}, {"the first token", token},
		{"a message text", first.Text}, {"a message text", second.Text}, {"a message text", edited.Text},
	}
}

// longPollAnsweredByPost starts a long poll for messages after `after`,
// posts once the poll is on its way, and checks the poll answers with that
// post.
func longPollAnsweredByPost(t *testing.T, c *apiClient, token string, after int64, text string) chat.Message {
	t.Helper()
	polled := startRequest(t, c, token, fmt.Sprintf("/api/messages?after=%d&wait=20", after), untilWritten)
	time.Sleep(100 * time.Millisecond) // let the server start waiting
	posted := postMessage(t, c, token, text)
	var res pollResult
	select {
	case res = <-polled:
	case <-time.After(15 * time.Second):
		t.Fatal("long poll: no answer 15s after a matching post")
	}
	got := res.messages(t, "long poll")
	if !slices.EqualFunc(got, []chat.Message{posted}, messagesEqual) {
		t.Fatalf("long poll: got %+v, want [%+v]", got, posted)
	}
	return posted
}

func editMessage(t *testing.T, c *apiClient, token string, id int64, text string) chat.Message {
	t.Helper()
	path := fmt.Sprintf("/api/messages/%d", id)
	r := c.form(t, http.MethodPut, path, token, url.Values{"text": {text}})
	wantStatus(t, "edit", r, http.StatusOK)
	var m chat.Message
	decodeJSON(t, "edit", r, &m)
	if m.ID != id || m.Text != text || m.TimeUpdated == nil {
		t.Errorf("edit: got %+v, want id %d, text %q and timeupdated set", m, id, text)
	}
	r = c.get(t, path, token)
	wantStatus(t, "get after edit", r, http.StatusOK)
	var got chat.Message
	decodeJSON(t, "get after edit", r, &got)
	if !messagesEqual(got, m) {
		t.Errorf("get after edit: got %+v, want %+v", got, m)
	}
	return m
}

func deleteMessage(t *testing.T, c *apiClient, token string, id int64) {
	t.Helper()
	path := fmt.Sprintf("/api/messages/%d", id)
	r := c.must(t, http.MethodDelete, path, token, "", nil)
	wantStatus(t, "delete", r, http.StatusOK)
	var m chat.Message
	decodeJSON(t, "delete", r, &m)
	if m.ID != id {
		t.Errorf("delete: got message %d back, want %d", m.ID, id)
	}
	wantStatus(t, "get after delete", c.get(t, path, token), http.StatusNotFound)
}

// checkAvatar fetches the avatar registered from a 600x300 opaque PNG: the
// contract stores it as JPEG scaled to fit 512x512, and revalidates by ETag.
func checkAvatar(t *testing.T, c *apiClient, token string, userID int64) {
	t.Helper()
	path := fmt.Sprintf("/api/users/image/%d", userID)
	r := c.get(t, path, token)
	wantStatus(t, "get avatar", r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("get avatar: got Content-Type %q, want image/jpeg", ct)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("get avatar: decode: %v", err)
	}
	if cfg.Width != 512 || cfg.Height != 256 {
		t.Errorf("get avatar: got %dx%d, want 512x256", cfg.Width, cfg.Height)
	}
	etag := r.header.Get("ETag")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("If-None-Match", etag)
	r, err = c.do(c.http, req)
	if err != nil {
		t.Fatalf("get avatar with If-None-Match: %v", err)
	}
	wantStatus(t, "get avatar with If-None-Match "+etag, r, http.StatusNotModified)
}

// checkGracefulShutdown cancels run's context while a 30 s long poll waits
// and an event stream is open: both must end at once, cleanly, and run must
// return nil soon after.
func checkGracefulShutdown(t *testing.T, p *inProcess, token string, after int64) {
	t.Helper()
	streamed := startRequest(t, p.client, token, "/api/messages/events", untilHeaders)
	polled := startRequest(t, p.client, token, fmt.Sprintf("/api/messages?after=%d&wait=30", after), untilWritten)
	time.Sleep(200 * time.Millisecond) // let the server start waiting
	for what, ch := range map[string]<-chan pollResult{"long poll": polled, "event stream": streamed} {
		select {
		case res := <-ch:
			t.Fatalf("%s answered before shutdown: %d %s, %v", what, res.resp.status, res.resp.body, res.err)
		default:
		}
	}
	start := time.Now()
	p.stop()
	select {
	case res := <-polled:
		res.messages(t, "long poll during shutdown")
		t.Logf("long poll answered %v after cancel", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("long poll: no answer within 5s of cancelling run's context")
	}
	select {
	case res := <-streamed:
		if res.err != nil || res.resp.status != http.StatusOK {
			t.Errorf("event stream during shutdown: got %d, %v; want 200 ended cleanly", res.resp.status, res.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event stream: not ended within 5s of cancelling run's context")
	}
	ended, err := p.life.wait(10 * time.Second)
	if !ended {
		t.Fatal("run did not return within 10s of cancelling its context")
	}
	if err != nil {
		t.Fatalf("run after cancel: got %v, want nil", err)
	}
	t.Logf("run returned %v after cancel", time.Since(start))
}

// pollResult is the outcome of a long poll or an event stream.
type pollResult struct {
	resp response
	err  error
}

// messages checks the poll got a 200 with a JSON array and returns it.
func (res pollResult) messages(t *testing.T, what string) []chat.Message {
	t.Helper()
	if res.err != nil {
		t.Fatalf("%s: %v", what, res.err)
	}
	wantStatus(t, what, res.resp, http.StatusOK)
	var msgs []chat.Message
	decodeJSON(t, what, res.resp, &msgs)
	if msgs == nil {
		t.Errorf("%s: got %s, want a JSON array", what, res.resp.body)
	}
	return msgs
}

// How far startRequest waits before it returns.
const (
	untilWritten = iota // the request is on the wire
	untilHeaders        // the server started answering (an event stream)
)

// startRequest sends GET path on a connection of its own and returns once
// the request got as far as until says; the whole answer arrives on the
// channel. A fresh connection matters: http.Server.Shutdown waits for a new
// connection's first request, while it may close an idle keep-alive one
// under it.
func startRequest(t *testing.T, c *apiClient, token, path string, until int) <-chan pollResult {
	t.Helper()
	reached := make(chan struct{})
	var once sync.Once
	signal := func() { once.Do(func() { close(reached) }) }
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { signal() }}
	if until == untilHeaders {
		trace = &httptrace.ClientTrace{GotFirstResponseByte: signal}
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	transport := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	out := make(chan pollResult, 1)
	go func() {
		resp, err := c.do(hc, req)
		out <- pollResult{resp, err}
	}()
	select {
	case <-reached:
	case res := <-out:
		t.Fatalf("GET %s: answered %d %s, %v before it was under way", path, res.resp.status, res.resp.body, res.err)
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s: not under way within 10s", path)
	}
	return out
}

// TestRunJourneyPostgres is the same journey and shutdown on PostgreSQL, in
// a schema of its own.
func TestRunJourneyPostgres(t *testing.T) {
	testJourney(t, pgtest.SchemaURL(t))
}

// checkLogs checks every log line is JSON and holds no secret, and that
// every answered request was logged exactly once with its method, route
// pattern, status, duration and request id.
func checkLogs(t *testing.T, lines []string, sent []sentRequest, secrets []secret) {
	t.Helper()
	logged := map[string]map[string]any{}
	for n, line := range lines {
		for _, s := range secrets {
			if strings.Contains(line, s.value) {
				t.Errorf("log line %d holds %s: %s", n+1, s.what, line)
			}
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line %d is not JSON (%v): %s", n+1, err, line)
			continue
		}
		if rec["msg"] != "request" {
			continue
		}
		for _, key := range []string{"method", "route", "status", "duration", "request_id"} {
			if _, ok := rec[key]; !ok {
				t.Errorf("log line %d: request line without %q: %s", n+1, key, line)
			}
		}
		id, _ := rec["request_id"].(string)
		if _, dup := logged[id]; dup {
			t.Errorf("log line %d: request id %q logged twice", n+1, id)
		}
		logged[id] = rec
	}
	for _, s := range sent {
		rec, ok := logged[s.id]
		if !ok {
			t.Errorf("%s %s (request id %q, status %d) has no log line", s.method, s.path, s.id, s.status)
			continue
		}
		delete(logged, s.id)
		route, _ := rec["route"].(string)
		status, _ := rec["status"].(float64)
		if rec["method"] != s.method || !routeMatches(route, s.method, s.path) || int(status) != s.status {
			t.Errorf("%s %s answered %d: logged method %v, route %v, status %v", s.method, s.path, s.status, rec["method"], rec["route"], rec["status"])
		}
	}
	for id, rec := range logged {
		t.Errorf("request %q logged but never answered to the test: %v", id, rec)
	}
	if len(sent) == 0 {
		t.Error("no requests recorded; the log check checked nothing")
	}
}

// routeMatches reports whether a ServeMux pattern such as
// "GET /api/messages/{id}" is the route of method and path.
func routeMatches(route, method, path string) bool {
	m, pattern, ok := strings.Cut(route, " ")
	if !ok || m != method {
		return false
	}
	want, got := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		wild := strings.HasPrefix(want[i], "{") && strings.HasSuffix(want[i], "}")
		if want[i] != got[i] && !wild {
			return false
		}
	}
	return true
}

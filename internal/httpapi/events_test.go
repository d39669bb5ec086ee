package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"chatd/internal/avatar"
	"chatd/internal/chat"
	"chatd/internal/realtime"
)

// sseEvent is one dispatched event, or comment, as a client parses it.
type sseEvent struct {
	id, event, data, retry, comment string
}

// sseStream reads an open event stream.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// openStream GETs /api/messages/events with query and header and returns
// the stream, failing unless it answers 200 with the event-stream headers.
func (ts *testServer) openStream(client *http.Client, query string, header map[string]string) *sseStream {
	ts.t.Helper()
	resp := ts.getStream(client, query, header)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ts.t.Fatalf("GET events%s: status %d, body %s", query, resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
	} {
		if got := resp.Header.Get(k); got != want {
			ts.t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	s := &sseStream{t: ts.t, resp: resp, r: bufio.NewReader(resp.Body)}
	ts.t.Cleanup(s.close)
	if e := s.next(); e.retry != "3000" {
		ts.t.Fatalf("first event: got %+v, want retry: 3000", e)
	}
	return s
}

func (ts *testServer) getStream(client *http.Client, query string, header map[string]string) *http.Response {
	ts.t.Helper()
	req, err := http.NewRequest("GET", ts.URL+"/api/messages/events"+query, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		ts.t.Fatalf("GET events%s: %v", query, err)
	}
	return resp
}

func (s *sseStream) close() { s.resp.Body.Close() }

// next returns the next event or comment, failing the test when none comes
// within a few seconds or the stream ends.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	e, err := s.read(5 * time.Second)
	if err != nil {
		s.t.Fatalf("read event: %v", err)
	}
	return e
}

// read parses one event or comment; it closes the stream after timeout.
func (s *sseStream) read(timeout time.Duration) (sseEvent, error) {
	timer := time.AfterFunc(timeout, s.close)
	defer timer.Stop()
	var e sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return e, fmt.Errorf("stream ended: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if e != (sseEvent{}) {
				return e, nil
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			e.comment = value
		case "id":
			e.id = value
		case "event":
			e.event = value
		case "data":
			e.data += value
		case "retry":
			e.retry = value
		}
	}
}

// wantEnd fails unless the server closes the stream.
func (s *sseStream) wantEnd() {
	s.t.Helper()
	if e, err := s.read(5 * time.Second); err == nil {
		s.t.Fatalf("got %+v, want the stream closed", e)
	}
}

// wantEvent reads the next event and checks its type and JSON data.
func (s *sseStream) wantEvent(typ string, data any) sseEvent {
	s.t.Helper()
	e := s.next()
	want, err := json.Marshal(data)
	if err != nil {
		s.t.Fatal(err)
	}
	var got, wantV any
	if err := json.Unmarshal([]byte(e.data), &got); err != nil {
		s.t.Fatalf("event %+v: data is not JSON: %v", e, err)
	}
	_ = json.Unmarshal(want, &wantV)
	if e.event != typ || !reflect.DeepEqual(got, wantV) || e.id == "" {
		s.t.Errorf("got event %q id %q data %s, want %q with an id and data %s", e.event, e.id, e.data, typ, want)
	}
	return e
}

func auth(token string) map[string]string { return map[string]string{"Authorization": token} }

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEventsStreamEveryType(t *testing.T) {
	ts := newTestServer(t)
	token, userID := ts.user("alice")
	other := ts.login("alice", "password-alice")
	s := ts.openStream(ts.client, "", auth("Bearer "+token))

	m := ts.post(token, "hello")
	created := s.wantEvent("message.created", ts.get(token, m.ID))
	wantStatus(t, "edit", ts.form("PUT", fmt.Sprintf("/api/messages/%d", m.ID), token, url.Values{"text": {"edited"}}), 200, "")
	updated := s.wantEvent("message.updated", ts.get(token, m.ID))
	wantStatus(t, "delete", ts.do(request{method: "DELETE", path: fmt.Sprintf("/api/messages/%d", m.ID), token: token}), 200, "")
	deleted := s.wantEvent("message.deleted", chat.MessageDeletedData{ID: m.ID})
	wantStatus(t, "avatar", ts.multipart("PUT", "/api/users/image", token, nil, tinyPNG(t)), 200, "")
	avatarEv := s.wantEvent("user.updated", chat.UserUpdatedData{UserID: userID})
	// Another session's logout is not this stream's business.
	wantStatus(t, "logout other", ts.do(request{method: "POST", path: "/api/users/logout", token: other}), 200, "")
	last := s.wantEvent("message.created", ts.get(token, ts.post(token, "after").ID))

	var prev int64
	for _, e := range []sseEvent{created, updated, deleted, avatarEv, last} {
		id, err := strconv.ParseInt(e.id, 10, 64)
		if err != nil || id <= prev {
			t.Errorf("event %q: got id %q after %d, want increasing integer ids", e.event, e.id, prev)
		}
		prev = id
	}
}

func TestEventsResumeAfterDrop(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	s := ts.openStream(ts.client, "", auth(token))
	var seen []sseEvent
	for i := range 3 {
		seen = append(seen, s.wantEvent("message.created", ts.get(token, ts.post(token, fmt.Sprint("a", i)).ID)))
	}
	s.close()
	var missed []chat.Message
	for i := range 3 {
		missed = append(missed, ts.post(token, fmt.Sprint("b", i)))
	}
	lastSeen := seen[len(seen)-1].id
	withLastID := auth(token)
	withLastID["Last-Event-ID"] = lastSeen
	for _, tc := range []struct{ name, query string }{
		{"header", ""},
		{"query", "?lastEventId=" + lastSeen},
	} {
		header := auth(token)
		if tc.query == "" {
			header = withLastID
		}
		r := ts.openStream(ts.client, tc.query, header)
		for _, m := range missed {
			r.wantEvent("message.created", m)
		}
		// Then live, with nothing repeated in between.
		live := ts.post(token, "live "+tc.name)
		r.wantEvent("message.created", live)
		missed = append(missed, live) // the next resume sees it too
	}
	for _, bad := range []string{"-1", "x"} {
		r := ts.do(request{method: "GET", path: "/api/messages/events?lastEventId=" + bad, token: token})
		wantStatus(t, "lastEventId="+bad, r, http.StatusBadRequest, "lastEventId")
	}
}

func TestEventsResetWhenHistoryGone(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	ts.post(token, "x")
	// An id beyond the log: the client's history is not this server's.
	s := ts.openStream(ts.client, "?lastEventId=999999", auth(token))
	if e := s.next(); e.event != "reset" || e.data != "{}" {
		t.Errorf("got %+v, want event reset with data {}", e)
	}
	s.wantEvent("message.created", ts.post(token, "after reset"))
}

func TestEventsTicket(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	r := ts.do(request{method: "POST", path: "/api/messages/events/ticket", token: token})
	wantStatus(t, "ticket", r, http.StatusOK, "")
	var body eventTicket
	r.json(t, &body)
	if len(body.Ticket) < 40 {
		t.Fatalf("got ticket %q, want a long random string", body.Ticket)
	}
	s := ts.openStream(ts.client, "?ticket="+url.QueryEscape(body.Ticket), nil)
	s.wantEvent("message.created", ts.post(token, "via ticket"))

	for name, req := range map[string]request{
		"ticket reused":   {method: "GET", path: "/api/messages/events?ticket=" + url.QueryEscape(body.Ticket)},
		"no credentials":  {method: "GET", path: "/api/messages/events"},
		"bad token":       {method: "GET", path: "/api/messages/events", token: "nope"},
		"ticket no token": {method: "POST", path: "/api/messages/events/ticket"},
	} {
		wantStatus(t, name, ts.do(req), http.StatusForbidden, `"error"`)
	}
}

func TestEventsLogoutAllRevokesStream(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	other := ts.login("alice", "password-alice")
	s := ts.openStream(ts.client, "", auth(token))
	wantStatus(t, "logout_all", ts.do(request{method: "POST", path: "/api/users/logout_all", token: other}), 200, "")
	if e := s.next(); e.event != "session.revoked" {
		t.Errorf("got %+v, want event session.revoked", e)
	}
	s.wantEnd()
}

// streamServer serves only the stream handler, over ts's store, with a
// heartbeat, a clock and a WriteTimeout of the test's choosing.
type streamServer struct {
	*testServer
	skew atomic.Int64 // added to the service's clock
}

func newStreamServer(t *testing.T, ts *testServer, heartbeat, writeTimeout time.Duration) *streamServer {
	t.Helper()
	ss := &streamServer{}
	svc, err := chat.NewService(ts.store, chat.Config{
		ProcessImage: avatar.NewProcessor(1).Process,
		Now:          func() time.Time { return time.Now().Add(time.Duration(ss.skew.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	hub, stopHub := startSecondHub(ts)
	srv := httptest.NewUnstartedServer(handleEventsEvery(svc, hub, nil, heartbeat))
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	t.Cleanup(func() { stopHub(); srv.Close() })
	ss.testServer = &testServer{Server: srv, t: t, store: ts.store}
	return ss
}

// TestEventsHeartbeatChecksSession: the heartbeat comment arrives, and once
// the session has expired the next beat revokes the stream.
func TestEventsHeartbeatChecksSession(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	ss := newStreamServer(t, ts, 50*time.Millisecond, 0)
	s := ss.openStream(ss.Client(), "", auth(token))
	if e := s.next(); e.comment != "ping" {
		t.Errorf("got %+v, want the comment ping", e)
	}
	ss.skew.Store(int64(chat.DefaultSessionIdle + time.Hour))
	for {
		e := s.next()
		if e.comment == "ping" {
			continue // a beat that ran before the clock moved
		}
		if e.event != "session.revoked" {
			t.Errorf("got %+v, want event session.revoked", e)
		}
		break
	}
	s.wantEnd()
}

// TestEventsOutliveWriteTimeout: a stream lives past the server's
// WriteTimeout, which would otherwise cut it.
func TestEventsOutliveWriteTimeout(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	ss := newStreamServer(t, ts, time.Hour, 100*time.Millisecond)
	s := ss.openStream(ss.Client(), "", auth(token))
	time.Sleep(300 * time.Millisecond)
	s.wantEvent("message.created", ts.post(token, "still here"))
}

func TestEventsThousandSubscribers(t *testing.T) {
	const n = 1000
	raiseOpenFiles(t, 3*n)
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	client := ts.Client()
	streams := make([]*sseStream, n)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				streams[i] = ts.openStream(client, "", auth(token))
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	m := ts.post(token, "to everyone")
	for i, s := range streams {
		if e := s.next(); e.event != "message.created" || !strings.Contains(e.data, `"to everyone"`) {
			t.Fatalf("stream %d: got %+v, want message.created of message %d", i, e, m.ID)
		}
	}
}

// raiseOpenFiles lifts the soft limit on open files to at least n (each
// stream holds a descriptor at both ends), or skips the test.
func raiseOpenFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d descriptors this test needs", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise RLIMIT_NOFILE: %v", err)
	}
}

// TestEventsHijackedStream: a stream over HTTP/1.1 leaves net/http after the
// head, and still has the middleware's headers, chunked encoding, a clean
// end and its request log line with status 200.
func TestEventsHijackedStream(t *testing.T) {
	var logs syncBuffer
	const origin = "https://app.example"
	ts := newTestServerWith(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.AllowedOrigins = []string{origin}
	})
	token, _ := ts.user("alice")
	header := auth(token)
	header["Origin"] = origin
	s := ts.openStream(ts.client, "", header)
	for k, want := range map[string]string{"Access-Control-Allow-Origin": origin, "Vary": "Origin"} {
		if got := s.resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if s.resp.Header.Get("X-Request-Id") == "" || !reflect.DeepEqual(s.resp.TransferEncoding, []string{"chunked"}) {
		t.Errorf("got X-Request-Id %q and transfer encoding %q, want an id and chunked",
			s.resp.Header.Get("X-Request-Id"), s.resp.TransferEncoding)
	}
	s.wantEvent("message.created", ts.post(token, "hello"))
	wantStatus(t, "logout", ts.do(request{method: "POST", path: "/api/users/logout", token: token}), 200, "")
	if e := s.next(); e.event != "session.revoked" {
		t.Errorf("got %+v, want event session.revoked", e)
	}
	if rest, err := io.ReadAll(s.r); err != nil || len(rest) != 0 {
		t.Errorf("after session.revoked: got %q and error %v, want a clean end of the body", rest, err)
	}
	want := `"route":"GET /api/messages/events","status":200`
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got logs\n%s\nwant a line with %s", logs.String(), want)
		}
	}
}

// TestEventsHTTP10: an HTTP/1.0 client, which knows no chunks, gets the
// events as a body that ends with the connection.
func TestEventsHTTP10(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /api/messages/events HTTP/1.0\r\nHost: x\r\nAuthorization: %s\r\n\r\n", token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response head: %v", err)
	}
	if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) != 0 {
		t.Fatalf("got status %d, transfer encoding %q, want 200 and none", resp.StatusCode, resp.TransferEncoding)
	}
	s := &sseStream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
	if e := s.next(); e.retry != "3000" {
		t.Fatalf("first event: got %+v, want retry: 3000", e)
	}
	s.wantEvent("message.created", ts.post(token, "over HTTP/1.0"))
}

// TestEventsWithoutHijack: where the connection cannot be taken (HTTP/2, a
// wrapped writer), the stream writes through the ResponseWriter.
func TestEventsWithoutHijack(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	svc, err := chat.NewService(ts.store, chat.Config{ProcessImage: avatar.NewProcessor(1).Process})
	if err != nil {
		t.Fatal(err)
	}
	hub, stopHub := startSecondHub(ts)
	t.Cleanup(stopHub)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	w := &flushWriter{header: http.Header{}, writes: make(chan string, 16)}
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/messages/events", nil)
	req.Header.Set("Authorization", token)
	done := make(chan struct{})
	go func() { handleEventsEvery(svc, hub, nil, time.Hour).ServeHTTP(w, req); close(done) }()
	if got := <-w.writes; got != streamRetry || w.status != http.StatusOK {
		t.Fatalf("first write: got %q with status %d, want %q with 200", got, w.status, streamRetry)
	}
	m := ts.post(token, "through the writer")
	if got := <-w.writes; !strings.Contains(got, "event: message.created") || !strings.Contains(got, `"through the writer"`) {
		t.Errorf("second write: got %q, want the message.created event of message %d", got, m.ID)
	}
	cancel()
	<-done
}

// flushWriter is a ResponseWriter that can flush but not be hijacked; it
// passes each flushed write on.
type flushWriter struct {
	header http.Header
	status int
	buf    strings.Builder
	writes chan string
}

func (w *flushWriter) Header() http.Header         { return w.header }
func (w *flushWriter) WriteHeader(status int)      { w.status = status }
func (w *flushWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *flushWriter) Flush() {
	w.writes <- w.buf.String()
	w.buf.Reset()
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestFrameCacheEncodesOnce(t *testing.T) {
	var c frameCache
	e := chat.Event{ID: 7, Type: chat.EventMessageCreated, Data: json.RawMessage(`{"id":1}`)}
	a, b := c.frame(e), c.frame(e)
	if want := "id: 7\nevent: message.created\ndata: {\"id\":1}\n\n"; string(a) != want {
		t.Errorf("got frame %q, want %q", a, want)
	}
	if &a[0] != &b[0] {
		t.Error("got a new copy of event 7's frame, want the cached one")
	}
	for id := range int64(100) { // more events than the cache holds
		other := chat.Event{ID: 100 + id, Type: chat.EventMessageDeleted, Data: json.RawMessage(`{"id":2}`)}
		if got := c.frame(other); !bytes.HasPrefix(got, fmt.Appendf(nil, "id: %d\n", other.ID)) {
			t.Fatalf("got frame %q for event %d", got, other.ID)
		}
	}
	if got := c.frame(e); string(got) != string(a) {
		t.Errorf("event 7 after eviction: got %q, want %q", got, a)
	}
}

// TestEventsNoticeGoneClient: no goroutine reads a taken connection, so a
// client that went away is noticed by the writes of the next heartbeats,
// and its subscription ends.
func TestEventsNoticeGoneClient(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	svc, err := chat.NewService(ts.store, chat.Config{ProcessImage: avatar.NewProcessor(1).Process})
	if err != nil {
		t.Fatal(err)
	}
	hub, stopHub := startSecondHub(ts)
	srv := httptest.NewServer(handleEventsEvery(svc, hub, nil, 20*time.Millisecond))
	t.Cleanup(func() { stopHub(); srv.Close() })

	ss := &testServer{Server: srv, t: t, store: ts.store}
	s := ss.openStream(srv.Client(), "", auth(token))
	if n := hub.Subscribers(); n != 1 {
		t.Fatalf("got %d subscribers with the stream open, want 1", n)
	}
	s.close()
	for deadline := time.Now().Add(5 * time.Second); hub.Subscribers() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d subscribers 5s after the client left, want 0", hub.Subscribers())
		}
	}
}

// startSecondHub runs another hub over ts's store, for tests that mount the
// stream handler themselves. It shares the store's wake-ups with ts's own
// hub, so it polls often instead. stop ends it and waits.
func startSecondHub(ts *testServer) (hub *realtime.Hub, stop func()) {
	hub = realtime.NewHub(ts.store, nil, realtime.Options{Fallback: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(done) }()
	return hub, func() { cancel(); <-done }
}

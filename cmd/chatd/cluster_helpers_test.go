package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
)

// startCluster starts n chatd binaries on one database at the same time and
// waits until every one is healthy.
func startCluster(t *testing.T, bin, db string, n int) []*apiClient {
	t.Helper()
	procs := make([]*subprocess, n)
	for i := range procs {
		procs[i] = launchBinary(t, bin, db)
	}
	clients := make([]*apiClient, n)
	for i, p := range procs {
		p.waitReady(t)
		clients[i] = p.client
		t.Cleanup(func() { checkServerLog(t, fmt.Sprintf("node %d", i), p.logs) })
	}
	return clients
}

// checkServerLog fails the test when the race detector spoke in a chatd's
// log, and shows the log's errors when the test failed, for the diagnosis.
func checkServerLog(t *testing.T, what string, logs *logSink) {
	t.Helper()
	for _, line := range logs.Lines() {
		switch {
		case strings.Contains(line, "DATA RACE"):
			t.Errorf("%s: the race detector spoke in chatd's log:\n%s", what, strings.Join(logs.Lines(), "\n"))
			return
		case t.Failed() && strings.Contains(line, `"level":"ERROR"`):
			t.Logf("%s logged: %s", what, line)
		}
	}
}

// registerUser registers login and returns its user id.
func registerUser(t *testing.T, c *apiClient, login, password string, image []byte) int64 {
	t.Helper()
	r := c.multipart(t, http.MethodPost, "/api/users/register", "", map[string]string{"login": login, "password": password}, image)
	wantStatus(t, "register "+login, r, http.StatusOK)
	var u struct {
		UserID int64 `json:"userid"`
	}
	decodeJSON(t, "register "+login, r, &u)
	if u.UserID <= 0 {
		t.Fatalf("register %s: got userid %d, want a positive id", login, u.UserID)
	}
	return u.UserID
}

// postResult is one post made under load during the outage.
type postResult struct {
	node    int
	started time.Time
	took    time.Duration
	resp    response
	msg     chat.Message // when resp.status is 200
}

// postLoad posts from a few goroutines per node until stop is closed and
// keeps every answer. A request that gets no answer within the client's
// timeout fails the test: chatd must not hang while the database is gone.
type postLoad struct {
	mu      sync.Mutex
	results []postResult
	wg      sync.WaitGroup
	stop    chan struct{}
	once    sync.Once
}

func startPostLoad(t *testing.T, nodes []*apiClient, tokens []string, perNode int) *postLoad {
	l := &postLoad{stop: make(chan struct{})}
	for n := range nodes {
		for w := range perNode {
			l.wg.Go(func() { l.post(t, nodes[n], tokens[n], n, w) })
		}
	}
	return l
}

func (l *postLoad) post(t *testing.T, c *apiClient, token string, node, worker int) {
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		case <-time.After(10 * time.Millisecond): // enough load, a bounded number of posts to check
		}
		text := fmt.Sprintf("node %d worker %d post %d", node, worker, i)
		res := postResult{node: node, started: time.Now()}
		r, err := c.send(t.Context(), http.MethodPost, "/api/messages", token, "application/x-www-form-urlencoded",
			[]byte(url.Values{"text": {text}}.Encode()))
		res.took, res.resp = time.Since(res.started), r
		if err != nil {
			t.Errorf("post %q: no answer after %v: %v", text, res.took, err)
			continue
		}
		if r.status == http.StatusOK {
			if err := json.Unmarshal(r.body, &res.msg); err != nil || res.msg.Text != text {
				t.Errorf("post %q: got 200 %s, want the message", text, r.body)
			}
		}
		l.mu.Lock()
		l.results = append(l.results, res)
		l.mu.Unlock()
	}
}

// waitFor waits until every node has a result that matches, or fails.
func (l *postLoad) waitFor(t *testing.T, what string, nodes, want int, within time.Duration, match func(postResult) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		count := make([]int, nodes)
		l.mu.Lock()
		for _, r := range l.results {
			if match(r) {
				count[r.node]++
			}
		}
		l.mu.Unlock()
		if slices.Min(count) >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %v per node within %v, want %d on each", what, count, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// end stops the load and returns every result; calling it again is harmless.
func (l *postLoad) end() []postResult {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.results
}

// sseEvent is one event of a Server-Sent Events stream.
type sseEvent struct {
	id   int64 // 0 when the event had no id: line
	typ  string
	data string
}

// sseStream reads an event stream in the background; events is closed when
// the server ends the stream.
type sseStream struct {
	events chan sseEvent
}

// openStream opens GET /api/messages/events with the Authorization header
// and returns once the server answered 200 with an event stream.
func openStream(t *testing.T, c *apiClient, token string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/messages/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	transport := &http.Transport{DisableKeepAlives: true, ResponseHeaderTimeout: 10 * time.Second}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /api/messages/events: %v", err)
	}
	// Cancelling also unblocks the reader if the test ends mid-stream.
	t.Cleanup(cancel)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET /api/messages/events: got %d %q %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	s := &sseStream{events: make(chan sseEvent, 100)}
	go s.read(ctx, resp.Body)
	return s
}

// read parses the stream: fields accumulate until a blank line ends the
// event; comments and events with neither a name nor data are skipped.
func (s *sseStream) read(ctx context.Context, body io.ReadCloser) {
	defer close(s.events)
	defer body.Close()
	sc := bufio.NewScanner(body)
	var ev sseEvent
	for sc.Scan() {
		field, value, _ := strings.Cut(sc.Text(), ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			if ev.typ != "" || ev.data != "" {
				select {
				case s.events <- ev:
				case <-ctx.Done(): // the test is over; nobody reads
					return
				}
			}
			ev = sseEvent{}
		case "id":
			ev.id, _ = strconv.ParseInt(value, 10, 64)
		case "event":
			ev.typ = value
		case "data":
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data += value
		}
	}
}

// next returns the next event; ok is false when the stream ended. It fails
// the test when nothing comes within the time.
func (s *sseStream) next(t *testing.T, within time.Duration) (ev sseEvent, ok bool) {
	t.Helper()
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(within):
		t.Fatalf("event stream: nothing within %v", within)
	}
	return ev, false
}

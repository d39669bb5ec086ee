package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
)

func TestMessagePost(t *testing.T) {
	ts := newTestServer(t)
	token, uid := ts.user("alice")
	cyr1000 := strings.Repeat("ж", 1000)
	tests := []struct {
		name   string
		req    request
		status int
		field  string // the field error a 400 must name
	}{
		{"form", formReq("POST", "/api/messages", token, url.Values{"text": {"hello"}}), 200, ""},
		{"json", jsonReq("POST", "/api/messages", token, `{"text":"hi"}`), 200, ""},
		{"1000 cyrillic code points", formReq("POST", "/api/messages", token, url.Values{"text": {cyr1000}}), 200, ""},
		{"1001 cyrillic code points", formReq("POST", "/api/messages", token, url.Values{"text": {cyr1000 + "ж"}}), 400, "text"},
		{"blank", formReq("POST", "/api/messages", token, url.Values{"text": {" \n\t "}}), 400, "text"},
		{"empty", formReq("POST", "/api/messages", token, url.Values{"text": {""}}), 400, "text"},
		{"missing", formReq("POST", "/api/messages", token, url.Values{}), 400, "text"},
		{"invalid UTF-8", request{method: "POST", path: "/api/messages", token: token,
			contentType: "application/x-www-form-urlencoded", body: []byte("text=%FF%FE")}, 400, "text"},
		{"NUL", formReq("POST", "/api/messages", token, url.Values{"text": {"a\x00b"}}), 400, "text"},
		{"json number", jsonReq("POST", "/api/messages", token, `{"text":5}`), 400, "text"},
		{"malformed json", jsonReq("POST", "/api/messages", token, `{"text":`), 400, "body"},
		{"no token", formReq("POST", "/api/messages", "", url.Values{"text": {"x"}}), 403, ""},
		{"bad token", formReq("POST", "/api/messages", "nope", url.Values{"text": {"x"}}), 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(tt.req)
			wantStatus(t, tt.name, r, tt.status, "")
			if tt.field != "" && r.status == 400 {
				if f := r.fields(t); len(f[tt.field]) == 0 {
					t.Errorf("field errors = %v, want one for %q", f, tt.field)
				}
			}
			if tt.status == 200 {
				var m chat.Message
				r.json(t, &m)
				if m.ID <= 0 || m.UserID != uid || m.Username != "alice" || m.TimeCreated == 0 || m.TimeUpdated != nil {
					t.Errorf("message = %+v, want a new message by alice", m)
				}
			}
		})
	}
	// Stored exactly as sent: nothing trimmed or normalized.
	m := ts.post(token, "  spaced\r\n")
	if got := ts.get(token, m.ID); got.Text != "  spaced\r\n" {
		t.Errorf("stored text = %q, want it exactly as sent", got.Text)
	}
}

func formReq(method, path, token string, v url.Values) request {
	return request{method: method, path: path, token: token,
		contentType: "application/x-www-form-urlencoded", body: []byte(v.Encode())}
}

func jsonReq(method, path, token, body string) request {
	return request{method: method, path: path, token: token, contentType: "application/json", body: []byte(body)}
}

func (ts *testServer) get(token string, id int64) chat.Message {
	ts.t.Helper()
	r := ts.do(request{method: "GET", path: fmt.Sprintf("/api/messages/%d", id), token: token})
	if r.status != 200 {
		ts.t.Fatalf("get message %d: status %d body %s", id, r.status, r.body)
	}
	var m chat.Message
	r.json(ts.t, &m)
	return m
}

func TestMessageGet(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	m := ts.post(token, "hello")
	tests := []struct {
		name, path, token string
		status            int
	}{
		{"found", fmt.Sprintf("/api/messages/%d", m.ID), token, 200},
		{"missing", "/api/messages/999999", token, 404},
		{"zero", "/api/messages/0", token, 404},
		{"negative", "/api/messages/-1", token, 404},
		{"not a number", "/api/messages/abc", token, 404},
		{"overflow", "/api/messages/99999999999999999999", token, 404},
		{"no token", fmt.Sprintf("/api/messages/%d", m.ID), "", 403},
	}
	for _, tt := range tests {
		r := ts.do(request{method: "GET", path: tt.path, token: tt.token})
		wantStatus(t, tt.name, r, tt.status, "")
	}
	if got := ts.get(token, m.ID); got.ID != m.ID || got.Text != m.Text || got.Username != "alice" {
		t.Errorf("get = %+v, want %+v", got, m)
	}
}

func TestMessageList(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	if got := ts.list(token, ""); len(got) != 0 {
		t.Fatalf("empty chat lists %d messages", len(got))
	}
	if got := ts.list(token, "?begin=undefined"); len(got) != 0 {
		t.Fatalf("begin=undefined on an empty chat lists %d messages", len(got))
	}
	var all []chat.Message
	for i := range 120 {
		all = append(all, ts.post(token, fmt.Sprint("m", i)))
	}
	tests := []struct {
		name, query string
		want        []chat.Message
	}{
		{"default is the newest 100", "", all[20:]},
		{"limit", "?limit=5", all[115:]},
		{"after", fmt.Sprintf("?after=%d&limit=3", all[9].ID), all[10:13]},
		{"after zero", "?after=0&limit=2", all[:2]},
		{"before", fmt.Sprintf("?before=%d&limit=3", all[9].ID), all[6:9]},
		{"after and before", fmt.Sprintf("?after=%d&before=%d", all[3].ID, all[6].ID), all[4:6]},
		{"begin undefined reads as 0", "?begin=undefined&limit=2", all[:2]},
		{"begin in the future", fmt.Sprintf("?begin=%d", time.Now().Unix()+100), nil},
	}
	for _, tt := range tests {
		if got := ts.list(token, tt.query); ids(got) != ids(tt.want) {
			t.Errorf("%s: ids = [%s], want [%s]", tt.name, ids(got), ids(tt.want))
		}
	}
	bad := map[string]string{
		"?limit=0": "limit", "?limit=1001": "limit", "?limit=x": "limit",
		"?after=-1": "after", "?after=x": "after", "?before=0": "before",
		"?wait=61&after=1": "wait", "?wait=x&after=1": "wait", "?wait=5": "wait",
	}
	for query, field := range bad {
		r := ts.do(request{method: "GET", path: "/api/messages" + query, token: token})
		if f := r.fields(t); len(f[field]) == 0 {
			t.Errorf("%s: field errors = %v, want one for %q", query, f, field)
		}
	}
	wantStatus(t, "no token", ts.do(request{method: "GET", path: "/api/messages"}), 403, "error")
}

func TestMessageUpdateAndDelete(t *testing.T) {
	ts := newTestServer(t)
	alice, _ := ts.user("alice")
	bob, _ := ts.user("bob")
	m := ts.post(alice, "original")
	path := fmt.Sprintf("/api/messages/%d", m.ID)
	text := func(s string) url.Values { return url.Values{"text": {s}} }
	// The contract's order: no token 403, no message 404, not author 403, bad text 400.
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"no token", formReq("PUT", path, "", text("x")), 403},
		{"missing message, bad text", formReq("PUT", "/api/messages/99999", alice, text("")), 404},
		{"not the author, bad text", formReq("PUT", path, bob, text("")), 403},
		{"not the author, malformed body", jsonReq("PUT", path, bob, "{"), 403},
		{"bad text", formReq("PUT", path, alice, text(" ")), 400},
		{"edit", formReq("PUT", path, alice, text("edited")), 200},
		{"delete no token", request{method: "DELETE", path: path}, 403},
		{"delete missing", request{method: "DELETE", path: "/api/messages/99999", token: alice}, 404},
		{"delete not the author", request{method: "DELETE", path: path, token: bob}, 403},
	}
	for _, tt := range tests {
		wantStatus(t, tt.name, ts.do(tt.req), tt.status, "")
	}
	edited := ts.get(bob, m.ID)
	if edited.Text != "edited" || edited.TimeUpdated == nil || edited.TimeCreated != m.TimeCreated {
		t.Errorf("after edit: %+v, want text edited, timeupdated set, timecreated kept", edited)
	}
	r := ts.do(request{method: "DELETE", path: path, token: alice})
	var deleted chat.Message
	r.json(t, &deleted)
	if r.status != 200 || deleted.ID != m.ID || deleted.Text != "edited" {
		t.Errorf("delete: status %d, body %s; want 200 with the message as it was", r.status, r.body)
	}
	wantStatus(t, "get deleted", ts.do(request{method: "GET", path: path, token: alice}), 404, "")
	wantStatus(t, "delete twice", ts.do(request{method: "DELETE", path: path, token: alice}), 404, "")
}

func TestMessageIdempotencyKey(t *testing.T) {
	ts := newTestServer(t)
	alice, _ := ts.user("alice")
	bob, _ := ts.user("bob")
	send := func(token, key, text string) response {
		req := formReq("POST", "/api/messages", token, url.Values{"text": {text}})
		req.header = map[string]string{"Idempotency-Key": key}
		return ts.do(req)
	}
	first, again := send(alice, "k-1", "once"), send(alice, "k-1", "once")
	if first.status != 200 || string(first.body) != string(again.body) {
		t.Fatalf("retry answered %d %s, want the first answer %s", again.status, again.body, first.body)
	}
	other := send(bob, "k-1", "once")
	if string(other.body) == string(first.body) {
		t.Errorf("another user's key reused alice's message")
	}
	if n := len(ts.list(alice, "")); n != 2 {
		t.Errorf("listed %d messages, want 2", n)
	}
	bad := send(alice, strings.Repeat("k", 256), "x")
	if f := bad.fields(t); len(f["Idempotency-Key"]) == 0 {
		t.Errorf("256-byte key: field errors %v, want Idempotency-Key", f)
	}
}

func TestConcurrentPosts(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	const n = 100
	got := make(chan int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := ts.form("POST", "/api/messages", token, url.Values{"text": {fmt.Sprint("parallel ", i)}})
			var m chat.Message
			if r.status == 200 {
				r.json(t, &m)
			}
			got <- m.ID
		})
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for id := range got {
		if id <= 0 || seen[id] {
			t.Errorf("id %d missing or repeated", id)
		}
		seen[id] = true
	}
	listed := ts.list(token, "?limit=1000")
	if len(listed) != n {
		t.Fatalf("listed %d messages, want %d", len(listed), n)
	}
	for i, m := range listed {
		if !seen[m.ID] || (i > 0 && listed[i-1].ID >= m.ID) {
			t.Fatalf("listed ids [%s] are not the posted ones in ascending order", ids(listed))
		}
	}
}

func TestLongPoll(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	last := ts.post(token, "before")
	type result struct {
		msgs    []chat.Message
		elapsed time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		msgs := ts.list(token, fmt.Sprintf("?after=%d&wait=10", last.ID))
		done <- result{msgs, time.Since(start)}
	}()
	time.Sleep(300 * time.Millisecond)
	posted := time.Now()
	m := ts.post(token, "wake up")
	select {
	case res := <-done:
		if len(res.msgs) != 1 || res.msgs[0].ID != m.ID {
			t.Fatalf("long poll answered [%s], want [%d]", ids(res.msgs), m.ID)
		}
		if d := time.Since(posted); d > time.Second {
			t.Errorf("long poll answered %v after the post, want within a second", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll not answered within 5 s of a post")
	}
	// begin works as a cursor too, and a wait with nothing new answers [] at its end.
	if got := ts.list(token, fmt.Sprintf("?begin=%d&wait=1", time.Now().Unix()+3600)); len(got) != 0 {
		t.Errorf("timed-out long poll answered %d messages, want []", len(got))
	}
	r := ts.do(request{method: "GET", path: fmt.Sprintf("/api/messages?after=%d&wait=1", m.ID), token: token})
	wantStatus(t, "timeout", r, http.StatusOK, "[]")
}

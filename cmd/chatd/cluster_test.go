package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/chatdtest"
	"chatd/internal/pgtest"
)

// TestCluster starts several real chatd binaries on one PostgreSQL schema
// and checks that, seen from outside, they are one server: what one
// instance writes or revokes holds on the others at once, and waiting
// clients on one are woken by writes on another. The binary is built once
// for all the cases; each case has a schema of its own.
func TestCluster(t *testing.T) {
	pgtest.BaseURL(t)
	bin := chatdtest.Build(t)
	for _, c := range []struct {
		name string
		run  func(t *testing.T, bin string)
	}{
		{"LogoutAll", testClusterLogoutAll},
		{"Messages", testClusterMessages},
		{"RegisterRace", testClusterRegisterRace},
		{"LongPoll", testClusterLongPoll},
		{"Events", testClusterEvents},
		{"Outage", testClusterOutage},
		{"MigrateData", testClusterMigrateData},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, bin) })
	}
}

const clusterPassword = "cluster test password"

// testClusterLogoutAll: a logout_all on A revokes the user's tokens on B and
// C for the very next request, with no cache in between.
func testClusterLogoutAll(t *testing.T, bin string) {
	nodes := startCluster(t, bin, pgtest.SchemaURL(t), 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	registerUser(t, a, "revoked_user", clusterPassword, nil)
	tokenA := a.login(t, "revoked_user", clusterPassword)
	tokenC := c.login(t, "revoked_user", clusterPassword)
	for i, n := range nodes {
		for _, tok := range []string{tokenA, tokenC} {
			wantStatus(t, fmt.Sprintf("authorized on node %d before logout_all", i), n.get(t, "/api/users/authorized", tok), http.StatusOK)
		}
	}
	wantStatus(t, "logout_all on A", a.must(t, http.MethodPost, "/api/users/logout_all", tokenA, "", nil), http.StatusOK)
	for _, check := range []struct {
		what  string
		node  *apiClient
		token string
	}{
		{"A's token on B", b, tokenA}, {"A's token on C", c, tokenA},
		{"C's token on B", b, tokenC}, {"C's token on C", c, tokenC}, {"A's token on A", a, tokenA},
	} {
		r := check.node.get(t, "/api/users/authorized", check.token)
		wantStatus(t, check.what+" right after logout_all", r, http.StatusForbidden)
		var body map[string]string
		decodeJSON(t, check.what, r, &body)
		if body["error"] == "" {
			t.Errorf("%s: got %s, want {\"error\": ...}", check.what, r.body)
		}
	}
}

// testClusterMessages: a post on A is listed and read on B, an edit on B is
// read on A, a delete on A is gone on B.
func testClusterMessages(t *testing.T, bin string) {
	nodes := startCluster(t, bin, pgtest.SchemaURL(t), 2)
	a, b := nodes[0], nodes[1]
	registerUser(t, a, "author", clusterPassword, nil)
	tokA, tokB := a.login(t, "author", clusterPassword), b.login(t, "author", clusterPassword)

	posted := postMessage(t, a, tokA, "posted on A")
	if got := listMessages(t, b, tokB, ""); !slices.EqualFunc(got, []chat.Message{posted}, messagesEqual) {
		t.Errorf("list on B: got %+v, want [%+v]", got, posted)
	}
	wantMessage(t, "get on B", b, tokB, posted)

	edited := editMessage(t, b, tokB, posted.ID, "edited on B")
	wantMessage(t, "get on A after the edit on B", a, tokA, edited)
	if got := listMessages(t, a, tokA, ""); !slices.EqualFunc(got, []chat.Message{edited}, messagesEqual) {
		t.Errorf("list on A after the edit on B: got %+v, want [%+v]", got, edited)
	}

	deleteMessage(t, a, tokA, posted.ID)
	wantStatus(t, "get on B after the delete on A", b.get(t, fmt.Sprintf("/api/messages/%d", posted.ID), tokB), http.StatusNotFound)
	if got := listMessages(t, b, tokB, ""); len(got) != 0 {
		t.Errorf("list on B after the delete on A: got %+v, want []", got)
	}
}

// wantMessage checks that GET /api/messages/{id} on c answers want.
func wantMessage(t *testing.T, what string, c *apiClient, token string, want chat.Message) {
	t.Helper()
	r := c.get(t, fmt.Sprintf("/api/messages/%d", want.ID), token)
	wantStatus(t, what, r, http.StatusOK)
	var got chat.Message
	decodeJSON(t, what, r, &got)
	if !messagesEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

// testClusterRegisterRace: one login registered 20 times at once across the
// instances is created exactly once; the others are told it is taken.
func testClusterRegisterRace(t *testing.T, bin string) {
	nodes := startCluster(t, bin, pgtest.SchemaURL(t), 3)
	const attempts = 20
	body := []byte(url.Values{"login": {"Contested"}, "password": {clusterPassword}}.Encode())
	results := make([]response, attempts)
	errs := make([]error, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			results[i], errs[i] = nodes[i%len(nodes)].send(t.Context(), http.MethodPost, "/api/users/register", "",
				"application/x-www-form-urlencoded", body)
		})
	}
	wg.Wait()
	var created int
	wantTaken := map[string][]string{"login": {"is already taken"}}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("register #%d on node %d: %v", i, i%len(nodes), errs[i])
		}
		switch r.status {
		case http.StatusOK:
			created++
		case http.StatusBadRequest:
			var got map[string][]string
			if err := json.Unmarshal(r.body, &got); err != nil || !maps.EqualFunc(got, wantTaken, slices.Equal) {
				t.Errorf("register #%d on node %d: got 400 %s, want %v", i, i%len(nodes), r.body, wantTaken)
			}
		default:
			t.Errorf("register #%d on node %d: got %d %s, want 200 or 400", i, i%len(nodes), r.status, r.body)
		}
	}
	if created != 1 {
		t.Errorf("register the same login %d times: got %d answers 200, want exactly 1", attempts, created)
	}
	for _, n := range nodes {
		n.login(t, "contested", clusterPassword) // the one account works everywhere
	}
}

// testClusterLongPoll: a long poll held on B is answered by a post on A
// within a second of the post's answer. Without the cross-instance wake-up B
// would only notice at its next fallback read, seconds later.
func testClusterLongPoll(t *testing.T, bin string) {
	nodes := startCluster(t, bin, pgtest.SchemaURL(t), 2)
	a, b := nodes[0], nodes[1]
	registerUser(t, a, "poller", clusterPassword, nil)
	tokA, tokB := a.login(t, "poller", clusterPassword), b.login(t, "poller", clusterPassword)
	first := postMessage(t, a, tokA, "before the poll")
	if d := longPollAcross(t, a, b, tokA, tokB, first.ID, "wakes the poll on B"); d > time.Second {
		t.Errorf("long poll on B answered %v after the post on A was answered, want within 1s", d)
	}
}

// longPollAcross holds a long poll for messages after `after` on b, posts
// text on a, checks that the poll answers with that post, and returns how
// long after the post's answer it came.
func longPollAcross(t *testing.T, a, b *apiClient, tokA, tokB string, after int64, text string) time.Duration {
	t.Helper()
	polled := startRequest(t, b, tokB, fmt.Sprintf("/api/messages?after=%d&wait=20", after), untilWritten)
	time.Sleep(300 * time.Millisecond) // let B start waiting
	select {
	case res := <-polled:
		t.Fatalf("long poll on B answered before the post: %d %s, %v", res.resp.status, res.resp.body, res.err)
	default:
	}
	posted := postMessage(t, a, tokA, text)
	answered := time.Now()
	var res pollResult
	select {
	case res = <-polled:
	case <-time.After(15 * time.Second):
		t.Fatal("long poll on B: no answer within 15s of a matching post on A")
	}
	d := time.Since(answered)
	t.Logf("long poll on B answered %v after the post on A", d.Round(time.Millisecond))
	if got := res.messages(t, "long poll on B"); !slices.EqualFunc(got, []chat.Message{posted}, messagesEqual) {
		t.Errorf("long poll on B: got %+v, want [%+v]", got, posted)
	}
	return d
}

// testClusterEvents: a stream on B carries the post, edit and delete made on
// A, in order; and a stream on B is revoked and closed by a logout_all on A.
func testClusterEvents(t *testing.T, bin string) {
	nodes := startCluster(t, bin, pgtest.SchemaURL(t), 2)
	a, b := nodes[0], nodes[1]
	registerUser(t, a, "streamer", clusterPassword, nil)
	tokA, tokB := a.login(t, "streamer", clusterPassword), b.login(t, "streamer", clusterPassword)

	stream := openStream(t, b, tokB)
	posted := postMessage(t, a, tokA, "streamed from A")
	edited := editMessage(t, a, tokA, posted.ID, "edited on A")
	deleteMessage(t, a, tokA, posted.ID)
	var lastID int64
	for _, want := range []struct {
		typ  string
		data any // a chat.Message, or the {"id": N} of a deletion
	}{
		{"message.created", posted}, {"message.updated", edited}, {"message.deleted", map[string]int64{"id": posted.ID}},
	} {
		ev, ok := stream.next(t, 10*time.Second)
		if !ok {
			t.Fatalf("stream on B ended before %s", want.typ)
		}
		if ev.typ != want.typ || ev.id <= lastID {
			t.Fatalf("stream on B: got event %q id %d, want %s with an id above %d", ev.typ, ev.id, want.typ, lastID)
		}
		lastID = ev.id
		checkEventData(t, ev, want.data)
	}

	// The stream belongs to tokB's session; revoke every session from A.
	wantStatus(t, "logout_all on A", a.must(t, http.MethodPost, "/api/users/logout_all", tokA, "", nil), http.StatusOK)
	ev, ok := stream.next(t, 10*time.Second)
	if !ok || ev.typ != "session.revoked" {
		t.Fatalf("stream on B after logout_all on A: got %q (open %v), want event session.revoked", ev.typ, ok)
	}
	if ev, ok := stream.next(t, 10*time.Second); ok {
		t.Errorf("stream on B after session.revoked: got event %q, want the stream closed", ev.typ)
	}
}

// checkEventData compares an event's JSON data with a message or a map.
func checkEventData(t *testing.T, ev sseEvent, want any) {
	t.Helper()
	switch want := want.(type) {
	case chat.Message:
		var got chat.Message
		if err := json.Unmarshal([]byte(ev.data), &got); err != nil || !messagesEqual(got, want) {
			t.Errorf("%s data: got %s (%v), want %+v", ev.typ, ev.data, err, want)
		}
	case map[string]int64:
		var got map[string]int64
		if err := json.Unmarshal([]byte(ev.data), &got); err != nil || !maps.Equal(got, want) {
			t.Errorf("%s data: got %s (%v), want %v", ev.typ, ev.data, err, want)
		}
	}
}

// testClusterOutage cuts PostgreSQL off under load, five times: requests
// answer 503 quickly, /readyz says 503, and once the database is back the
// same processes serve again; in the end every acknowledged post is there.
// Each cut meets the transactions then in flight at a different step.
func testClusterOutage(t *testing.T, bin string) {
	direct, err := url.Parse(pgtest.SchemaURL(t))
	if err != nil || direct.Port() == "" {
		t.Skip("CHATD_TEST_POSTGRES has no host:port; the outage test needs TCP")
	}
	proxy := pgtest.StartProxy(t, direct.Host)
	viaProxy := *direct
	viaProxy.Host = proxy.Addr()
	checkOutages(t, bin, viaProxy.String(), proxy, 5)
}

// outage takes the database away from chatd and brings it back.
type outage interface {
	Down()
	Up()
}

// checkOutages runs two instances on dbURL under a post load through
// `cycles` outages and checks what testClusterOutage promises.
func checkOutages(t *testing.T, bin, dbURL string, db outage, cycles int) {
	t.Helper()
	nodes := startCluster(t, bin, dbURL, 2)
	registerUser(t, nodes[0], "survivor", clusterPassword, nil)
	tokens := make([]string, len(nodes))
	for i, n := range nodes {
		n.http.Timeout = 10 * time.Second // a hung request fails the test
		tokens[i] = n.login(t, "survivor", clusterPassword)
	}
	load := startPostLoad(t, nodes, tokens, 4)
	defer load.end() // when a check below fails the test
	load.waitFor(t, "posts before the outage", len(nodes), 10, 10*time.Second, answeredWith(http.StatusOK, time.Now()))
	var back time.Time
	for range cycles {
		back = cutAndRestore(t, db, nodes, load)
	}
	results := load.end()
	for i, n := range nodes {
		wantStatus(t, fmt.Sprintf("/readyz on node %d after the outage", i), n.get(t, "/readyz", ""), http.StatusOK)
	}
	checkOutageResults(t, nodes[0], tokens[0], results)
	checkWakeUpsAfterOutage(t, nodes, tokens, back)
}

// answeredWith matches the results with status of requests started after t.
func answeredWith(status int, t time.Time) func(postResult) bool {
	return func(r postResult) bool { return r.resp.status == status && r.started.After(t) }
}

// cutAndRestore cuts the database off for half a second, checks that the nodes
// say so, restores it and waits until posts succeed again. It returns when
// the database came back.
func cutAndRestore(t *testing.T, db outage, nodes []*apiClient, load *postLoad) time.Time {
	t.Helper()
	db.Down()
	cut := time.Now()
	load.waitFor(t, "503 answers during the outage", len(nodes), 3, 15*time.Second, answeredWith(http.StatusServiceUnavailable, cut))
	for i, n := range nodes {
		wantStatus(t, fmt.Sprintf("/readyz on node %d during the outage", i), n.get(t, "/readyz", ""), http.StatusServiceUnavailable)
	}
	time.Sleep(time.Until(cut.Add(500 * time.Millisecond)))

	db.Up()
	back := time.Now()
	load.waitFor(t, "posts after the database came back", len(nodes), 3, 10*time.Second, answeredWith(http.StatusOK, back))
	t.Logf("posts answered 200 again %v after the database came back", time.Since(back).Round(time.Millisecond))
	return back
}

// checkWakeUpsAfterOutage checks that the cross-instance wake-up works
// again once the event listeners had time to reconnect (their backoff is at
// most 5 s): with the load stopped, only a notification from A can wake B
// within a second; B's fallback read would take up to 3 s. Three in a row,
// so that a fallback read cannot pass for a wake-up by luck.
func checkWakeUpsAfterOutage(t *testing.T, nodes []*apiClient, tokens []string, back time.Time) {
	t.Helper()
	time.Sleep(time.Until(back.Add(6 * time.Second)))
	last := listMessages(t, nodes[1], tokens[1], "?limit=1")
	if len(last) != 1 {
		t.Fatalf("list after the outage: got %d messages, want the newest", len(last))
	}
	after := last[0].ID
	for i := range 3 {
		if d := longPollAcross(t, nodes[0], nodes[1], tokens[0], tokens[1], after, fmt.Sprintf("wake-up %d after the outage", i)); d > time.Second {
			t.Errorf("long poll on B after the outage answered %v after the post on A, want within 1s", d)
		}
		after = listMessages(t, nodes[1], tokens[1], "?limit=1")[0].ID
	}
}

// checkOutageResults checks that every answer under load was a 200 or a
// 503 with {"error": ...}, and that every post answered 200, before, during
// or after the outage, can be read back.
func checkOutageResults(t *testing.T, c *apiClient, token string, results []postResult) {
	t.Helper()
	var acked []chat.Message
	var unavailable int
	var slowest time.Duration
	for _, r := range results {
		switch r.resp.status {
		case http.StatusOK:
			acked = append(acked, r.msg)
		case http.StatusServiceUnavailable:
			unavailable++
			slowest = max(slowest, r.took)
			var body map[string]string
			if err := json.Unmarshal(r.resp.body, &body); err != nil || body["error"] == "" {
				t.Errorf("post on node %d during the outage: got 503 %s, want {\"error\": ...}", r.node, r.resp.body)
			}
		default:
			t.Errorf("post on node %d under load: got %d %s, want 200 or 503", r.node, r.resp.status, r.resp.body)
		}
	}
	t.Logf("%d posts answered 200, %d answered 503 (the slowest after %v)", len(acked), unavailable, slowest.Round(time.Millisecond))
	const readers = 4
	var wg sync.WaitGroup
	for w := range readers {
		wg.Go(func() {
			for i := w; i < len(acked); i += readers {
				m := acked[i]
				r, err := c.send(t.Context(), http.MethodGet, fmt.Sprintf("/api/messages/%d", m.ID), token, "", nil)
				var got chat.Message
				if err == nil && r.status == http.StatusOK {
					err = json.Unmarshal(r.body, &got)
				}
				if err != nil || r.status != http.StatusOK || got.Text != m.Text {
					t.Errorf("acknowledged message %d after the outage: got %d %s (%v), want 200 with %q", m.ID, r.status, r.body, err, m.Text)
				}
			}
		})
	}
	wg.Wait()
}

// testClusterMigrateData moves a SQLite deployment, made through the API of
// the real binary, to PostgreSQL with `chatd migrate-data`; then a chatd on
// each database must answer the same, and the old passwords must work.
func testClusterMigrateData(t *testing.T, bin string) {
	file := filepath.Join(t.TempDir(), "chatd.db")
	users, deleted := makeSQLiteDeployment(t, bin, file)

	dst := pgtest.SchemaURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "migrate-data", "-from", file, "-to", dst)
	cmd.Env = environWithoutChatd()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chatd migrate-data: %v\n%s", err, out)
	}

	nodes := []*subprocess{launchBinary(t, bin, file), launchBinary(t, bin, dst)}
	for _, n := range nodes {
		n.waitReady(t)
	}
	for _, u := range users {
		compareDeployments(t, nodes[0].client, nodes[1].client, u, deleted)
	}
}

// migratedUser is a user of the deployment that is moved.
type migratedUser struct {
	login, password string
	image           []byte // nil: no avatar
	id              int64
}

// makeSQLiteDeployment runs chatd on file and uses it: two users, one with
// an avatar, six messages, one edited and one deleted. It stops chatd and
// returns the users and the deleted message's id.
func makeSQLiteDeployment(t *testing.T, bin, file string) (users []migratedUser, deleted int64) {
	t.Helper()
	src := startBinary(t, bin, file)
	users = []migratedUser{
		{login: "Migrant_Ann", password: "ann's old password", image: testPNG(t, 64, 48)},
		{login: "migrant_bob", password: "bob's old password"},
	}
	tokens := make([]string, len(users))
	for i := range users {
		users[i].id = registerUser(t, src.client, users[i].login, users[i].password, users[i].image)
		tokens[i] = src.client.login(t, users[i].login, users[i].password)
	}
	var posted []chat.Message
	for i := range 6 {
		posted = append(posted, postMessage(t, src.client, tokens[i%2], fmt.Sprintf("message %d of %s", i, users[i%2].login)))
	}
	editMessage(t, src.client, tokens[0], posted[2].ID, "edited before the move")
	deleteMessage(t, src.client, tokens[1], posted[1].ID)
	src.interrupt(t)
	return users, posted[1].ID
}

// compareDeployments logs u in on both chatds (the PostgreSQL one has only
// the migrated password hash) and checks that both answer the same bytes
// and headers: the user, the avatar, the list, each message, the deleted one.
func compareDeployments(t *testing.T, lite, pg *apiClient, u migratedUser, deleted int64) {
	t.Helper()
	tokLite, tokPG := lite.login(t, u.login, u.password), pg.login(t, u.login, u.password)
	same := func(path string) response {
		t.Helper()
		rl, rp := lite.get(t, path, tokLite), pg.get(t, path, tokPG)
		if rl.status != rp.status || !bytes.Equal(rl.body, rp.body) {
			t.Errorf("GET %s: SQLite answered %d %s, PostgreSQL %d %s", path, rl.status, rl.body, rp.status, rp.body)
		}
		for _, h := range []string{"Content-Type", "ETag"} {
			if rl.header.Get(h) != rp.header.Get(h) {
				t.Errorf("GET %s: SQLite's %s is %q, PostgreSQL's %q", path, h, rl.header.Get(h), rp.header.Get(h))
			}
		}
		return rl
	}
	wantAvatar := http.StatusNoContent
	if u.image != nil {
		wantAvatar = http.StatusOK
	}
	wantStatus(t, "avatar of "+u.login, same(fmt.Sprintf("/api/users/image/%d", u.id)), wantAvatar)
	same("/api/users/authorized")
	var msgs []chat.Message
	decodeJSON(t, "list after the move", same("/api/messages?limit=1000"), &msgs)
	if len(msgs) != 5 {
		t.Errorf("list after the move: got %d messages, want 5 (6 posted, 1 deleted)", len(msgs))
	}
	for _, m := range msgs {
		wantStatus(t, "get after the move", same(fmt.Sprintf("/api/messages/%d", m.ID)), http.StatusOK)
	}
	wantStatus(t, "get the deleted message", same(fmt.Sprintf("/api/messages/%d", deleted)), http.StatusNotFound)
}

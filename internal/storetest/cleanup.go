package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"chatd/internal/chat"
)

func cleanupCases() []testCase {
	return []testCase{
		{"Cleanup/EventsByCount", testPruneByCount},
		{"Cleanup/EventsByAge", testPruneByAge},
		{"Cleanup/EventsYoungKept", testPruneNothingYoung},
		{"Cleanup/EventsAll", testPruneAll},
		{"Cleanup/Sessions", testCleanupSessions},
		{"Cleanup/IdempotencyKeys", testCleanupIdempotency},
		{"Cleanup/LoginFailures", testCleanupLoginFailures},
	}
}

// keepAll is a policy at now under which Cleanup deletes nothing; each case
// tightens the one rule it tests.
func keepAll(now time.Time) chat.CleanupPolicy {
	const year = 365 * 24 * time.Hour
	return chat.CleanupPolicy{
		Now: now, SessionIdle: year, KeepEvents: 1 << 30, KeepEventsFor: year,
		IdempotencyFor: year, LoginWindow: year,
	}
}

func cleanup(t *testing.T, s chat.Store, p chat.CleanupPolicy) {
	t.Helper()
	if err := s.Cleanup(ctx(t), p); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
}

// tenEvents appends ten message.created events, created at at(0), at(10) ...
// at(90), so that no boundary of a policy falls on an event's time.
func tenEvents(t *testing.T, s chat.Store) []chat.Event {
	t.Helper()
	u := createUser(t, s, "Pruner")
	for i := range 10 {
		createMessage(t, s, u.ID, "m", at(10*i))
	}
	evs := eventsAfter(t, s, 0)
	if len(evs) != 10 {
		t.Fatalf("got %d events, want 10", len(evs))
	}
	return evs
}

// wantPrunedThrough checks the log after events[:n] were pruned: reading
// from before events[n-1] is ErrHistoryGone, reading from events[n-1] or
// later returns the rest.
func wantPrunedThrough(t *testing.T, s chat.Store, evs []chat.Event, n int) {
	t.Helper()
	for i := range n - 1 {
		_, err := s.EventsAfter(ctx(t), evs[i].ID, 100)
		wantErr(t, "EventsAfter from before the pruned range's end", err, chat.ErrHistoryGone)
	}
	_, err := s.EventsAfter(ctx(t), 0, 100)
	wantErr(t, "EventsAfter(0) after pruning", err, chat.ErrHistoryGone)
	for i := n - 1; i < len(evs); i++ {
		got, err := s.EventsAfter(ctx(t), evs[i].ID, 100)
		if err != nil {
			t.Errorf("EventsAfter(%d) within the kept range: %v", evs[i].ID, err)
			continue
		}
		if len(got) != len(evs)-i-1 || (len(got) > 0 && got[0].ID != evs[i+1].ID) {
			t.Errorf("EventsAfter(%d): got %s, want %s", evs[i].ID, describe(got), describe(evs[i+1:]))
		}
	}
	if id := lastEventID(t, s); id != evs[len(evs)-1].ID {
		t.Errorf("LastEventID after pruning: got %d, want %d", id, evs[len(evs)-1].ID)
	}
}

func testPruneByCount(t *testing.T, s chat.Store) {
	evs := tenEvents(t, s)
	// Events 0-4 are older than KeepEventsFor; events 3-9 are the newest 7.
	p := keepAll(at(1000))
	p.KeepEventsFor = 955 * time.Second
	p.KeepEvents = 7
	cleanup(t, s, p)
	wantPrunedThrough(t, s, evs, 3)
}

func testPruneByAge(t *testing.T, s chat.Store) {
	evs := tenEvents(t, s)
	// Events 0-3 are older than KeepEventsFor; events 8-9 are the newest 2.
	p := keepAll(at(1000))
	p.KeepEventsFor = 965 * time.Second
	p.KeepEvents = 2
	cleanup(t, s, p)
	wantPrunedThrough(t, s, evs, 4)
}

func testPruneNothingYoung(t *testing.T, s chat.Store) {
	evs := tenEvents(t, s)
	p := keepAll(at(1000))
	p.KeepEvents = 0 // all may go by count, but none is old enough
	p.KeepEventsFor = 2000 * time.Second
	cleanup(t, s, p)
	if got := eventsAfter(t, s, 0); len(got) != len(evs) {
		t.Errorf("after a cleanup that prunes nothing: got %s, want %s", describe(got), describe(evs))
	}
}

// testPruneAll: LastEventID is the highest ID the log ever handed out, not
// that of the highest kept row. A log whose every event was pruned is not
// "empty": LastEventID must not fall back to 0, or a reader starting "from
// now" would ask for EventsAfter(0) and get ErrHistoryGone, and IDs keep
// growing past the pruned ones.
func testPruneAll(t *testing.T, s chat.Store) {
	evs := tenEvents(t, s)
	p := keepAll(at(1000))
	p.KeepEvents = 0
	p.KeepEventsFor = time.Second
	cleanup(t, s, p)
	last := evs[len(evs)-1].ID
	wantPrunedThrough(t, s, evs, len(evs))
	u := createUser(t, s, "after-prune")
	m := createMessage(t, s, u.ID, "next", at(1001))
	got := eventsAfter(t, s, last)
	if len(got) != 1 || got[0].ID <= last || got[0].MessageID() != m.ID {
		t.Errorf("after pruning everything and writing again: got %s, want one event with id > %d", describe(got), last)
	}
}

func testCleanupSessions(t *testing.T, s chat.Store) {
	a, b, c := createUser(t, s, "Ann"), createUser(t, s, "ben"), createUser(t, s, "cat")
	a1 := createSession(t, s, a.ID, "a1", at(0))
	a2 := createSession(t, s, a.ID, "a2", at(0))
	a3 := createSession(t, s, a.ID, "a3", at(0))
	b1 := createSession(t, s, b.ID, "b1", at(0))
	c1 := createSession(t, s, c.ID, "c1", at(99999))
	if err := s.TouchSession(ctx(t), a3.ID, at(99500)); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	expired, live := chat.HashToken("expired"), chat.HashToken("live")
	mustTicket(t, s, a3.ID, expired, at(99990))
	mustTicket(t, s, c1.ID, live, at(100060))
	before := lastEventID(t, s)
	now := at(100000)
	p := keepAll(now)
	p.SessionIdle = 1000 * time.Second
	cleanup(t, s, p)
	for _, gone := range []chat.Session{a1, a2, b1} {
		_, err := s.SessionByID(ctx(t), gone.ID)
		wantErr(t, "SessionByID of an idle session after Cleanup", err, chat.ErrNotFound)
	}
	for _, kept := range []chat.Session{a3, c1} {
		if _, err := s.SessionByID(ctx(t), kept.ID); err != nil {
			t.Errorf("SessionByID(%d) of a live session after Cleanup: %v", kept.ID, err)
		}
	}
	_, err := s.RedeemTicket(ctx(t), expired, at(99980))
	wantErr(t, "RedeemTicket of a ticket expired at Cleanup's Now", err, chat.ErrNotFound)
	if _, err := s.RedeemTicket(ctx(t), live, at(100001)); err != nil {
		t.Errorf("RedeemTicket of a live ticket after Cleanup: %v", err)
	}
	// One event per user; the order between users is not specified.
	got := eventsAfter(t, s, before)
	want := map[int64]chat.Event{
		a.ID: event(t, chat.EventSessionsRevoked, chat.SessionsRevokedData{UserID: a.ID, SessionIDs: []int64{a1.ID, a2.ID}}, now),
		b.ID: event(t, chat.EventSessionsRevoked, chat.SessionsRevokedData{UserID: b.ID, SessionIDs: []int64{b1.ID}}, now),
	}
	if len(got) != len(want) {
		t.Fatalf("events after Cleanup: got %s, want two sessions.revoked", describe(got))
	}
	for _, e := range got {
		w, ok := want[revokedUser(e)]
		if !ok || e.Type != w.Type || !sameData(e.Type, e.Data, w.Data) || !e.Created.Equal(now) {
			t.Errorf("event after Cleanup: got %s %s at %v, want one of the sessions.revoked events at %v", e.Type, e.Data, e.Created, now)
		}
		delete(want, revokedUser(e))
	}
}

func revokedUser(e chat.Event) int64 {
	var d chat.SessionsRevokedData
	if json.Unmarshal(e.Data, &d) != nil {
		return 0
	}
	return d.UserID
}

func mustTicket(t *testing.T, s chat.Store, session int64, hash []byte, expires time.Time) {
	t.Helper()
	if err := s.CreateTicket(ctx(t), session, hash, expires); err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
}

func testCleanupIdempotency(t *testing.T, s chat.Store) {
	u := createUser(t, s, "Dan")
	post := func(key string, created time.Time) chat.Message {
		t.Helper()
		m, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: u.ID, Text: key, IdempotencyKey: key, Created: created})
		if err != nil {
			t.Fatalf("CreateMessage(key %q): %v", key, err)
		}
		return m
	}
	oldMsg, newMsg := post("old", at(0)), post("new", at(90000))
	p := keepAll(at(100000))
	p.IdempotencyFor = 24 * time.Hour
	cleanup(t, s, p)
	if again := post("old", at(100001)); again.ID == oldMsg.ID {
		t.Errorf("retry with a key older than IdempotencyFor: got the first message %d, want a new one", oldMsg.ID)
	}
	wantMessage(t, "retry with a recent key after Cleanup", post("new", at(100002)), newMsg)
}

func testCleanupLoginFailures(t *testing.T, s chat.Store) {
	for _, sec := range []int{0, 50, 2000} {
		recordFailure(t, s, "login:eve", at(sec))
	}
	p := keepAll(at(2000))
	p.LoginWindow = 900 * time.Second
	cleanup(t, s, p)
	wantFailures(t, s, "login:eve", time.Time{}, 1, at(2000))
}

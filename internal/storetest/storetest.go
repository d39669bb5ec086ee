// Package storetest is the executable specification of chat.Store: every
// store (SQLite, PostgreSQL) runs the same suite against a real database.
//
// Where the doc comments in internal/chat leave a point open, the suite
// takes the reading API.md implies, and says so beside the case:
//   - Event.Data is byte for byte what chat.NewEvent produced, because
//     clients receive it as it is (only the order of the ids in a
//     sessions.revoked event is free).
//   - Event.Created is the time passed to the call that made the change
//     (CleanupPolicy.Now for what Cleanup revokes).
//   - EventsAfter(id) is ErrHistoryGone exactly when some event after id was
//     pruned: from the highest pruned id on, it works.
//   - Stores may keep times to the second; the suite passes whole seconds.
//   - LastEventID never goes down, not even when pruning empties the log.
//   - SetAvatar always appends user.updated, removing an absent avatar too.
//   - RedeemTicket returns the session as SessionByID would, Username filled.
//   - Message ids are never reused, not even the id of a deleted newest one.
//   - DeleteUserSessions of a user with no sessions returns nil.
//   - Boundaries the contract leaves open (a ticket redeemed at exactly its
//     expiry, a row exactly as old as a retention period) are not tested.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"chatd/internal/chat"
)

// Run checks that the stores newStore returns keep the chat.Store contract.
// newStore must return a fresh, empty store for every call and register its
// own cleanup (closing the store, removing its data) with t.Cleanup. Subtests
// run in parallel, each on its own store.
func Run(t *testing.T, newStore func(t *testing.T) chat.Store) {
	t.Helper()
	groups := [][]testCase{
		userCases(), sessionCases(), ticketCases(), messageCases(), listCases(),
		eventCases(), cleanupCases(), throttleCases(), concurrencyCases(),
	}
	for _, cases := range groups {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newStore(t))
			})
		}
	}
}

// testCase is one contract case; it gets a fresh store of its own.
type testCase struct {
	name string
	run  func(t *testing.T, s chat.Store)
}

// at is the fixed clock of the suite: every time a case passes to a store
// is at(n), a whole number of seconds after one fixed instant, so results
// never depend on the wall clock and survive storage in Unix seconds.
func at(sec int) time.Time {
	return time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second)
}

func ctx(t *testing.T) context.Context { return t.Context() }

// createUser creates a user named login without an avatar.
func createUser(t *testing.T, s chat.Store, login string) chat.User {
	t.Helper()
	u, err := s.CreateUser(ctx(t), chat.NewUser{
		Login: login, LoginKey: chat.FoldLogin(login), PasswordHash: "hash-of-" + login, Created: at(0),
	})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", login, err)
	}
	return u
}

// createMessage creates a message by user at time created.
func createMessage(t *testing.T, s chat.Store, user int64, text string, created time.Time) chat.Message {
	t.Helper()
	m, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: user, Text: text, Created: created})
	if err != nil {
		t.Fatalf("CreateMessage(%q): %v", text, err)
	}
	return m
}

// createSession creates a session of user whose token hash is derived from name.
func createSession(t *testing.T, s chat.Store, user int64, name string, now time.Time) chat.Session {
	t.Helper()
	sess, err := s.CreateSession(ctx(t), user, chat.HashToken(name), now)
	if err != nil {
		t.Fatalf("CreateSession(%q): %v", name, err)
	}
	return sess
}

// lastEventID returns the store's LastEventID, failing the test on error.
func lastEventID(t *testing.T, s chat.Store) int64 {
	t.Helper()
	id, err := s.LastEventID(ctx(t))
	if err != nil {
		t.Fatalf("LastEventID: %v", err)
	}
	return id
}

// eventsAfter returns every event after id (up to 10,000).
func eventsAfter(t *testing.T, s chat.Store, after int64) []chat.Event {
	t.Helper()
	evs, err := s.EventsAfter(ctx(t), after, 10000)
	if err != nil {
		t.Fatalf("EventsAfter(%d): %v", after, err)
	}
	return evs
}

// wantEvents checks that the events after `after` are exactly want, in order:
// types, JSON data and creation times.
func wantEvents(t *testing.T, s chat.Store, after int64, want ...chat.Event) []chat.Event {
	t.Helper()
	got := eventsAfter(t, s, after)
	if len(got) != len(want) {
		t.Fatalf("got %d events after %d (%s), want %d (%s)", len(got), after, describe(got), len(want), describe(want))
	}
	prev := after
	for i := range got {
		if got[i].ID <= prev {
			t.Errorf("event %d: got id %d, want greater than %d", i, got[i].ID, prev)
		}
		prev = got[i].ID
		if got[i].Type != want[i].Type {
			t.Errorf("event %d: got type %q, want %q", i, got[i].Type, want[i].Type)
		}
		if !sameData(got[i].Type, got[i].Data, want[i].Data) {
			t.Errorf("event %d (%s): got data %s, want %s", i, got[i].Type, got[i].Data, want[i].Data)
		}
		if !got[i].Created.Equal(want[i].Created) {
			t.Errorf("event %d (%s): got created %v, want %v", i, got[i].Type, got[i].Created, want[i].Created)
		}
	}
	return got
}

// event builds the event a store is expected to append.
func event(t *testing.T, typ chat.EventType, payload any, created time.Time) chat.Event {
	t.Helper()
	e, err := chat.NewEvent(typ, payload, created)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sameData reports whether an event's data is what the store was expected
// to append. Data is what clients receive, so it must be byte for byte what
// chat.NewEvent (json.Marshal) produced: a store may not re-encode it (a
// PostgreSQL column of type json or text keeps it; jsonb would not). The one
// exception is the order of the session ids in sessions.revoked, which the
// contract leaves open, so those are compared as sets.
func sameData(typ chat.EventType, got, want []byte) bool {
	if typ != chat.EventSessionsRevoked {
		return bytes.Equal(got, want)
	}
	var g, w chat.SessionsRevokedData
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	slices.Sort(g.SessionIDs)
	slices.Sort(w.SessionIDs)
	return g.UserID == w.UserID && slices.Equal(g.SessionIDs, w.SessionIDs)
}

func describe(evs []chat.Event) string {
	s := ""
	for i, e := range evs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d:%s", e.ID, e.Type)
	}
	return s
}

// wantErr checks that err is target (through errors.Is).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

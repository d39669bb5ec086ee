package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"chatd/internal/chat"
)

func concurrencyCases() []testCase {
	return []testCase{
		{"Concurrency/CreateUserSameLogin", testConcurrentCreateUser},
		{"Concurrency/CreateMessage", testConcurrentCreateMessage},
		{"Concurrency/IdempotentRetries", testConcurrentIdempotency},
	}
}

func testConcurrentCreateUser(t *testing.T, s chat.Store) {
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.CreateUser(ctx(t), chat.NewUser{
				Login: "Racer", LoginKey: "racer", PasswordHash: fmt.Sprint(i), Created: at(0),
			})
		})
	}
	wg.Wait()
	var ok, taken int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, chat.ErrLoginTaken):
			taken++
		default:
			t.Errorf("CreateUser #%d: got %v, want nil or ErrLoginTaken", i, err)
		}
	}
	if ok != 1 || taken != n-1 {
		t.Errorf("%d concurrent CreateUser with one login: got %d successes and %d ErrLoginTaken, want 1 and %d", n, ok, taken, n-1)
	}
}

func testConcurrentCreateMessage(t *testing.T, s chat.Store) {
	const n = 100
	users := []chat.User{createUser(t, s, "Writer1"), createUser(t, s, "writer2")}
	before := lastEventID(t, s)
	msgs := make([]chat.Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			msgs[i], errs[i] = s.CreateMessage(ctx(t), chat.NewMessage{
				UserID: users[i%2].ID, Text: fmt.Sprintf("concurrent %d", i), Created: at(i % 7),
			})
		})
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("CreateMessage #%d: %v", i, errs[i])
		}
		if seen[msgs[i].ID] {
			t.Errorf("id %d handed out twice", msgs[i].ID)
		}
		seen[msgs[i].ID] = true
	}
	listed, err := s.ListMessages(ctx(t), chat.MessageQuery{Limit: chat.MaxListLimit, HasAfter: true})
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	if len(listed) != n {
		t.Fatalf("ListMessages: got %d messages, want %d", len(listed), n)
	}
	for i, m := range listed {
		if !seen[m.ID] || (i > 0 && m.ID <= listed[i-1].ID) {
			t.Fatalf("ListMessages: got ids %v, want the %d created ids ascending", ids(listed), n)
		}
	}
	// Event IDs grow in commit order, so a reader that follows the log sees
	// the messages in the order of their ids: none can appear behind a
	// cursor it already passed.
	evs := eventsAfter(t, s, before)
	if len(evs) != n {
		t.Fatalf("got %d events, want %d", len(evs), n)
	}
	for i, e := range evs {
		if e.Type != chat.EventMessageCreated || e.MessageID() != listed[i].ID {
			t.Fatalf("event %d: got %s about message %d, want message.created about %d (events in message id order)",
				i, e.Type, e.MessageID(), listed[i].ID)
		}
	}
}

// testConcurrentIdempotency: retries of one post racing each other (a client
// that timed out and retried while the first request was still running)
// create one message, and every retry answers with it.
func testConcurrentIdempotency(t *testing.T, s chat.Store) {
	const n = 10
	u := createUser(t, s, "Retrier")
	before := lastEventID(t, s)
	msgs := make([]chat.Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			msgs[i], errs[i] = s.CreateMessage(ctx(t), chat.NewMessage{
				UserID: u.ID, Text: "once", IdempotencyKey: "retry-key", Created: at(i),
			})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("CreateMessage #%d: %v", i, errs[i])
		}
		wantMessage(t, fmt.Sprintf("CreateMessage #%d", i), msgs[i], msgs[0])
	}
	if evs := eventsAfter(t, s, before); len(evs) != 1 || evs[0].MessageID() != msgs[0].ID {
		t.Errorf("events after %d retries of one post: got %s, want one message.created", n, describe(evs))
	}
}

package realtime

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/sqlite"
)

// newStore opens a real SQLite store at path.
func newStore(t *testing.T, path string) store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// store is the part of chat.Store these tests drive.
type store interface {
	chat.EventLog
	CreateUser(ctx context.Context, u chat.NewUser) (chat.User, error)
	CreateMessage(ctx context.Context, m chat.NewMessage) (chat.Message, error)
	Cleanup(ctx context.Context, p chat.CleanupPolicy) error
}

// fixture is a store with one user and a way to start hubs over it.
type fixture struct {
	st   store
	path string
	user chat.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.db")
	st := newStore(t, path)
	u, err := st.CreateUser(t.Context(), chat.NewUser{Login: "alice", LoginKey: "alice", PasswordHash: "x", Created: time.Now()})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return &fixture{st: st, path: path, user: u}
}

// startHub runs a hub until the test ends, and checks that Run returns nil.
func (f *fixture) startHub(t *testing.T, opts Options) (*Hub, context.CancelFunc) {
	t.Helper()
	h := NewHub(f.st, nil, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	})
	return h, cancel
}

// post creates n messages and returns them.
func (f *fixture) post(t *testing.T, n int, prefix string) []chat.Message {
	t.Helper()
	var msgs []chat.Message
	for i := range n {
		m, err := f.st.CreateMessage(context.Background(), chat.NewMessage{
			UserID: f.user.ID, Text: fmt.Sprintf("%s %d", prefix, i), Created: time.Now(),
		})
		if err != nil {
			t.Errorf("CreateMessage: %v", err)
			return msgs
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// events returns the whole log after id.
func (f *fixture) events(t *testing.T, after int64) []chat.Event {
	t.Helper()
	evs, err := f.st.EventsAfter(t.Context(), after, 1<<20)
	if err != nil {
		t.Fatalf("EventsAfter(%d): %v", after, err)
	}
	return evs
}

// prune deletes all but the newest keep events from the log.
func (f *fixture) prune(t *testing.T, keep int) {
	t.Helper()
	policy := chat.CleanupPolicy{
		Now: time.Now().Add(time.Hour), SessionIdle: time.Hour, KeepEvents: keep,
		KeepEventsFor: time.Second, IdempotencyFor: time.Hour, LoginWindow: time.Hour,
	}
	if err := f.st.Cleanup(t.Context(), policy); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
}

// waitEnd drains sub until the feed ends it and returns Err.
func waitEnd(t *testing.T, sub chat.Subscription) error {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return sub.Err()
			}
		case <-timeout:
			t.Fatal("subscription still open, want it ended")
		}
	}
}

func subscribe(t *testing.T, h *Hub, after int64) chat.Subscription {
	t.Helper()
	sub, err := h.Subscribe(t.Context(), after)
	if err != nil {
		t.Fatalf("Subscribe(%d): %v", after, err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// receive reads n events from sub, failing after a few seconds.
func receive(t *testing.T, sub chat.Subscription, n int) []chat.Event {
	t.Helper()
	var got []chat.Event
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, sub.Err())
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("got %d events, want %d", len(got), n)
		}
	}
	return got
}

// ids returns the IDs of evs.
func ids(evs []chat.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// quietLog is the real store with its wake-ups withheld until the test sends
// one, as when another instance appends to a shared database and the
// notification is late.
type quietLog struct {
	store
	wake chan struct{}
}

func (q *quietLog) EventSignal() <-chan struct{} { return q.wake }

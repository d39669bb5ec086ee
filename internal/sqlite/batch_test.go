package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
)

// insertFn returns a write that stores a message with text.
func insertFn(user int64, text string) func(context.Context, *txn) error {
	return func(ctx context.Context, tx *txn) error {
		_, err := insertMessage(ctx, tx, chat.NewMessage{UserID: user, Text: text, Created: time.Unix(1, 0)})
		return err
	}
}

// TestBatchIsolatesFailures runs one batch by hand, so that which writes
// share the transaction is certain: a fn that fails after writing, and a
// caller cancelled while queued, must cost nobody else their write.
func TestBatchIsolatesFailures(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "b", LoginKey: "b", PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	errFail := errors.New("fail after writing")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	batch := []*pending{
		{ctx: t.Context(), fn: insertFn(u.ID, "first")},
		{ctx: t.Context(), fn: func(ctx context.Context, tx *txn) error {
			if err := insertFn(u.ID, "undone")(ctx, tx); err != nil {
				return err
			}
			return errFail
		}},
		{ctx: cancelled, fn: insertFn(u.ID, "cancelled")},
		{ctx: t.Context(), fn: insertFn(u.ID, "last")},
	}
	for _, w := range batch {
		w.done = make(chan error, 1)
	}
	s.commitBatch(batch)

	wantErrs := []error{nil, errFail, context.Canceled, nil}
	for i, w := range batch {
		if err := <-w.done; !errors.Is(err, wantErrs[i]) || (wantErrs[i] == nil) != (err == nil) {
			t.Errorf("write %d: got error %v, want %v", i, err, wantErrs[i])
		}
	}
	msgs, err := s.ListMessages(t.Context(), chat.MessageQuery{Limit: 10})
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	slices.Sort(texts)
	if want := []string{"first", "last"}; !slices.Equal(texts, want) {
		t.Errorf("committed messages: got %q, want %q", texts, want)
	}
}

// TestConcurrentWritesOneFails: concurrent callers share commits; the one
// whose write is refused (a taken login) gets chat.ErrLoginTaken, every
// other caller's write commits.
func TestConcurrentWritesOneFails(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	if _, err := s.CreateUser(t.Context(), chat.NewUser{Login: "taken", LoginKey: "taken", PasswordHash: "h"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			login := fmt.Sprintf("u%d", i)
			if i == n/2 {
				login = "taken"
			}
			_, errs[i] = s.CreateUser(t.Context(), chat.NewUser{Login: login, LoginKey: login, PasswordHash: "h"})
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == n/2 && !errors.Is(err, chat.ErrLoginTaken):
			t.Errorf("CreateUser of a taken login: got %v, want %v", err, chat.ErrLoginTaken)
		case i != n/2 && err != nil:
			t.Errorf("CreateUser(u%d): %v", i, err)
		case i != n/2:
			login := fmt.Sprintf("u%d", i)
			if _, err := s.UserByLoginKey(t.Context(), login); err != nil {
				t.Errorf("UserByLoginKey(%s) after its creation was answered: %v", login, err)
			}
		}
	}
}

// TestWriteCancelledWhileQueued: a caller whose context ends while another
// write holds the writer gets its context's error, and its write never runs.
func TestWriteCancelledWhileQueued(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	started, release := make(chan struct{}), make(chan struct{})
	blocker := make(chan error, 1)
	go func() {
		blocker <- s.write(t.Context(), func(context.Context, *txn) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := s.write(ctx, func(context.Context, *txn) error {
		ran = true
		return nil
	})
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("write queued past its deadline: got %v, want %v", err, context.DeadlineExceeded)
	}
	if err := <-blocker; err != nil {
		t.Errorf("blocking write: %v", err)
	}
	if ran {
		t.Errorf("write queued past its deadline: its fn ran, want it skipped")
	}
}

// TestConcurrentIDsInCommitOrder: with many writers sharing commits, the
// message.created events list the messages in id order, every answered
// message is in the log, and the event signal fired.
func TestConcurrentIDsInCommitOrder(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{Synchronous: "NORMAL"})
	u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "o", LoginKey: "o", PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	select {
	case <-s.EventSignal(): // the user's creation may have signalled
	default:
	}
	const writers, each = 16, 20
	ids := make(chan int64, writers*each)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				m, err := s.CreateMessage(t.Context(), chat.NewMessage{UserID: u.ID, Text: "x", Created: time.Unix(1, 0)})
				if err != nil {
					t.Errorf("CreateMessage: %v", err)
					return
				}
				ids <- m.ID
			}
		})
	}
	wg.Wait()
	close(ids)
	select {
	case <-s.EventSignal():
	default:
		t.Errorf("event signal: got nothing after the commits, want a value")
	}
	events, err := s.EventsAfter(t.Context(), 0, writers*each+10)
	if err != nil {
		t.Fatalf("EventsAfter: %v", err)
	}
	var logged []int64
	for _, e := range events {
		if e.Type == chat.EventMessageCreated {
			logged = append(logged, e.MessageID())
		}
	}
	if !slices.IsSorted(logged) {
		t.Errorf("message ids in event order: got %v, want ascending", logged)
	}
	answered := slices.Sorted(func(yield func(int64) bool) {
		for id := range ids {
			if !yield(id) {
				return
			}
		}
	})
	if !slices.Equal(logged, answered) {
		t.Errorf("message.created events: got ids %v, want the answered ids %v", logged, answered)
	}
}

// TestBatchSurvivesPanic: a write that panics fails only its own caller; the
// writer goroutine, and the process, carry on.
func TestBatchSurvivesPanic(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "p", LoginKey: "p", PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	batch := []*pending{
		{ctx: t.Context(), fn: func(ctx context.Context, tx *txn) error {
			if err := insertFn(u.ID, "undone")(ctx, tx); err != nil {
				return err
			}
			panic("bug in a write")
		}},
		{ctx: t.Context(), fn: insertFn(u.ID, "kept")},
	}
	for _, w := range batch {
		w.done = make(chan error, 1)
	}
	s.commitBatch(batch)
	if err := <-batch[0].done; err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("panicking write: got error %v, want one saying it panicked", err)
	}
	if err := <-batch[1].done; err != nil {
		t.Errorf("write after the panic: got error %v, want nil", err)
	}
	msgs, err := s.ListMessages(t.Context(), chat.MessageQuery{Limit: 10})
	if err != nil || len(msgs) != 1 || msgs[0].Text != "kept" {
		t.Errorf("got messages %+v (%v), want only the one written after the panic", msgs, err)
	}
	if _, err := s.CreateMessage(t.Context(), chat.NewMessage{UserID: u.ID, Text: "later"}); err != nil {
		t.Errorf("write after the panicking batch: %v", err)
	}
}

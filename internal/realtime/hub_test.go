package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/sqlite"
)

func TestHubDeliversInOrder(t *testing.T) {
	f := newFixture(t)
	h, _ := f.startHub(t, Options{})
	sub := subscribe(t, h, -1)
	msgs := f.post(t, 30, "order")
	got := receive(t, sub, len(msgs))
	for i, e := range got {
		var m chat.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatalf("event %d data: %v", e.ID, err)
		}
		if e.Type != chat.EventMessageCreated || m.ID != msgs[i].ID || m.Text != msgs[i].Text {
			t.Errorf("event %d: got %s %+v, want message.created %+v", i, e.Type, m, msgs[i])
		}
		if i > 0 && e.ID <= got[i-1].ID {
			t.Errorf("event %d: got id %d after %d, want increasing ids", i, e.ID, got[i-1].ID)
		}
	}
}

func TestHubResumes(t *testing.T) {
	f := newFixture(t)
	f.post(t, 10, "before")
	// The hub starts after these events, so resuming from them reads the store.
	h, _ := f.startHub(t, Options{Batch: 3})
	all := f.events(t, 0)
	for _, tc := range []struct {
		name  string
		after int64
	}{
		{"FromStore", all[4].ID},
		{"FromStart", 0},
		{"FromNewest", all[9].ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := subscribe(t, h, tc.after)
			f.post(t, 2, tc.name)
			want := ids(f.events(t, tc.after))
			got := ids(receive(t, sub, len(want)))
			if !slices.Equal(got, want) {
				t.Errorf("got ids %v, want %v", got, want)
			}
		})
	}
	t.Run("FromRing", func(t *testing.T) {
		live := f.events(t, 0)
		after := live[len(live)-3].ID // posted while the hub ran
		sub := subscribe(t, h, after)
		want := ids(f.events(t, after))
		if got := ids(receive(t, sub, len(want))); !slices.Equal(got, want) {
			t.Errorf("got ids %v, want %v", got, want)
		}
	})
}

// TestHubHandOverUnderConcurrentAppends subscribes at random points while
// messages are appended, with a tiny ring and batches so that every path
// (store replay, ring catch-up, going live, cut off and resumed) is taken,
// and checks that every subscriber sees the log exactly: no gap, no duplicate.
func TestHubHandOverUnderConcurrentAppends(t *testing.T) {
	f := newFixture(t)
	f.post(t, 20, "old")
	h, _ := f.startHub(t, Options{Buffer: 4, Ring: 4, Batch: 3})
	const writes, readers = 150, 24
	var wg sync.WaitGroup
	wg.Go(func() {
		for range writes {
			f.post(t, 1, "new")
			time.Sleep(time.Millisecond) // so that readers join while it writes
		}
		f.post(t, 1, "end")
	})
	results := make([][]chat.Event, readers)
	starts := make([]int64, readers)
	for i := range readers {
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
			starts[i] = int64(rand.IntN(30)) - 1 // -1 means live only
			if last, _ := f.st.LastEventID(context.Background()); starts[i] > last {
				starts[i] = last
			}
			results[i] = readUntilEnd(t, h, starts[i])
		})
	}
	wg.Wait()
	for i, got := range results {
		if len(got) == 0 {
			t.Fatalf("reader %d got nothing", i)
		}
		from := starts[i]
		if from < 0 {
			from = got[0].ID - 1 // live only: from wherever it joined
		}
		want := ids(f.events(t, from))
		if g := ids(got); !slices.Equal(g, want) {
			t.Errorf("reader %d after %d: got ids %v, want %v", i, starts[i], g, want)
		}
	}
}

// readUntilEnd reads events from after until the message "end 0", resuming
// from the last event seen whenever the hub cuts it off, as a client would.
func readUntilEnd(t *testing.T, h *Hub, after int64) []chat.Event {
	var got []chat.Event
	for {
		sub, err := h.Subscribe(context.Background(), after)
		if err != nil {
			t.Errorf("Subscribe(%d): %v", after, err)
			return got
		}
		for e := range sub.Events() {
			got, after = append(got, e), e.ID
			var m chat.Message
			if json.Unmarshal(e.Data, &m) == nil && m.Text == "end 0" {
				sub.Close()
				return got
			}
		}
		if !errors.Is(sub.Err(), chat.ErrSlowConsumer) {
			t.Errorf("subscription ended with %v, want ErrSlowConsumer", sub.Err())
			return got
		}
	}
}

func TestHubCutsOffSlowConsumer(t *testing.T) {
	f := newFixture(t)
	h, _ := f.startHub(t, Options{Buffer: 32})
	slow := subscribe(t, h, -1)
	fast := subscribe(t, h, -1)
	var posted []chat.Event
	// Post in lock step with the fast reader, so only the slow one lags.
	for range 100 {
		f.post(t, 1, "step")
		posted = append(posted, receive(t, fast, 1)...)
	}
	var got []chat.Event
	for e := range slow.Events() { // closed once cut off
		got = append(got, e)
	}
	if !errors.Is(slow.Err(), chat.ErrSlowConsumer) {
		t.Errorf("slow subscriber: got error %v, want ErrSlowConsumer", slow.Err())
	}
	if len(got) < 16 || len(got) > 33 || !slices.Equal(ids(got), ids(posted[:len(got)])) {
		t.Errorf("slow subscriber: got ids %v, want a prefix of %v of at most 33", ids(got), ids(posted))
	}
	if fast.Err() != nil {
		t.Errorf("fast subscriber: got error %v, want nil", fast.Err())
	}
	if n := h.Subscribers(); n != 1 {
		t.Errorf("got %d subscribers, want 1", n)
	}
}

func TestHubShutdownEndsSubscriptions(t *testing.T) {
	f := newFixture(t)
	f.post(t, 40, "old")
	h, cancel := f.startHub(t, Options{Batch: 5})
	live := subscribe(t, h, -1)
	replaying := subscribe(t, h, 0) // never read: its feeder is blocked sending
	cancel()
	for name, sub := range map[string]chat.Subscription{"live": live, "replaying": replaying} {
		if err := waitEnd(t, sub); !errors.Is(err, chat.ErrFeedClosed) {
			t.Errorf("%s: got error %v, want ErrFeedClosed", name, err)
		}
	}
	if _, err := h.Subscribe(t.Context(), -1); !errors.Is(err, chat.ErrFeedClosed) {
		t.Errorf("Subscribe after shutdown: got %v, want ErrFeedClosed", err)
	}
}

func TestHubCloseReleasesSubscription(t *testing.T) {
	f := newFixture(t)
	h, _ := f.startHub(t, Options{})
	sub := subscribe(t, h, -1)
	sub.Close()
	sub.Close()
	if _, ok := <-sub.Events(); ok {
		t.Error("got an event after Close, want a closed channel")
	}
	if sub.Err() != nil || h.Subscribers() != 0 {
		t.Errorf("got error %v and %d subscribers, want nil and 0", sub.Err(), h.Subscribers())
	}
}

func TestHubHistoryGone(t *testing.T) {
	f := newFixture(t)
	f.post(t, 10, "old")
	kept := f.events(t, 0)[7:]
	f.prune(t, 3)
	h, _ := f.startHub(t, Options{})
	last := kept[len(kept)-1].ID
	for _, after := range []int64{0, kept[0].ID - 2, last + 1} {
		if _, err := h.Subscribe(t.Context(), after); !errors.Is(err, chat.ErrHistoryGone) {
			t.Errorf("Subscribe(%d): got %v, want ErrHistoryGone", after, err)
		}
	}
	sub := subscribe(t, h, kept[0].ID)
	if got := ids(receive(t, sub, 2)); !slices.Equal(got, ids(kept[1:])) {
		t.Errorf("got ids %v, want %v", got, ids(kept[1:]))
	}
}

func TestHubThousandSubscribers(t *testing.T) {
	f := newFixture(t)
	h, _ := f.startHub(t, Options{})
	subs := make([]chat.Subscription, 1000)
	for i := range subs {
		subs[i] = subscribe(t, h, -1)
	}
	msg := f.post(t, 1, "hello all")[0]
	for i, sub := range subs {
		if got := receive(t, sub, 1)[0]; got.MessageID() != msg.ID {
			t.Fatalf("subscriber %d: got event about message %d, want %d", i, got.MessageID(), msg.ID)
		}
	}
}

// TestHubResumeAheadOfHub resumes from an event the store has but the hub has
// not read yet: once the hub reads it, the subscriber must not get it twice.
func TestHubResumeAheadOfHub(t *testing.T) {
	f := newFixture(t)
	f.post(t, 2, "seen by hub")
	q := &quietLog{store: f.st, wake: make(chan struct{})}
	f.st = q
	h, _ := f.startHub(t, Options{Fallback: time.Hour})
	f.post(t, 5, "unseen by hub")
	all := f.events(t, 0)
	sub := subscribe(t, h, all[4].ID)
	q.wake <- struct{}{}
	want := ids(all[5:])
	if got := ids(receive(t, sub, len(want))); !slices.Equal(got, want) {
		t.Errorf("got ids %v, want %v", got, want)
	}
	f.post(t, 1, "live")
	q.wake <- struct{}{}
	if got, want := receive(t, sub, 1)[0].ID, f.events(t, all[6].ID)[0].ID; got != want {
		t.Errorf("got id %d, want %d", got, want)
	}
}

// TestHubSkipsPrunedHistory: when the log was pruned past the hub itself,
// the hub cuts its subscribers off (resuming then tells them their history
// is gone) and carries on from the newest event.
func TestHubSkipsPrunedHistory(t *testing.T) {
	f := newFixture(t)
	f.post(t, 2, "seen by hub")
	q := &quietLog{store: f.st, wake: make(chan struct{})}
	f.st = q
	h, _ := f.startHub(t, Options{Fallback: time.Hour})
	sub := subscribe(t, h, -1)
	f.post(t, 10, "unseen by hub")
	f.prune(t, 3)
	q.wake <- struct{}{}
	if err := waitEnd(t, sub); !errors.Is(err, chat.ErrSlowConsumer) {
		t.Errorf("got error %v, want ErrSlowConsumer", err)
	}
	newest, err := f.st.LastEventID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(t.Context(), newest-5); !errors.Is(err, chat.ErrHistoryGone) {
		t.Errorf("Subscribe(%d): got %v, want ErrHistoryGone", newest-5, err)
	}
	live := subscribe(t, h, -1)
	f.post(t, 1, "live")
	q.wake <- struct{}{}
	if got, want := receive(t, live, 1)[0].ID, f.events(t, newest)[0].ID; got != want {
		t.Errorf("got id %d, want %d", got, want)
	}
}

// TestHubFromNowMeansTheLogsEnd: a subscription "from now" starts where the
// log ends when Subscribe is called, even when the hub has not been woken
// for the newest events yet (as when another instance just wrote them).
func TestHubFromNowMeansTheLogsEnd(t *testing.T) {
	f := newFixture(t)
	// A second store on the same file writes without waking this hub, like
	// another instance whose notification has not arrived.
	other, err := sqlite.Open(t.Context(), f.path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open a second store: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	h, _ := f.startHub(t, Options{Fallback: time.Hour})
	if _, err := other.CreateMessage(t.Context(), chat.NewMessage{UserID: f.user.ID, Text: "before", Created: time.Now()}); err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	sub := subscribe(t, h, -1)
	after := f.post(t, 1, "after")
	got := receive(t, sub, 1)
	if got[0].MessageID() != after[0].ID {
		t.Errorf("first event is about message %d, want %d (posted after Subscribe)", got[0].MessageID(), after[0].ID)
	}
}

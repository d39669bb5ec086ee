package storetest

import (
	"testing"
	"time"

	"chatd/internal/chat"
)

func eventCases() []testCase {
	return []testCase{
		{"Events/OrderAndLimit", testEventsOrderAndLimit},
		{"Events/LastEventID", testLastEventID},
		{"Events/Signal", testEventSignal},
		{"Ping", testPing},
	}
}

func testEventsOrderAndLimit(t *testing.T, s chat.Store) {
	u := createUser(t, s, "Bea")
	var want []chat.Event
	for i := range 5 {
		m := createMessage(t, s, u.ID, "m", at(i))
		want = append(want, event(t, chat.EventMessageCreated, m, at(i)))
	}
	all := wantEvents(t, s, 0, want...)
	for _, tc := range []struct {
		after int64
		limit int
		want  []chat.Event
	}{
		{0, 2, all[:2]},
		{all[1].ID, 2, all[2:4]},
		{all[3].ID, 10, all[4:]},
		{all[4].ID, 10, nil},
		{all[4].ID + 100, 10, nil},
	} {
		got, err := s.EventsAfter(ctx(t), tc.after, tc.limit)
		if err != nil {
			t.Fatalf("EventsAfter(%d, %d): %v", tc.after, tc.limit, err)
		}
		if len(got) != len(tc.want) {
			t.Errorf("EventsAfter(%d, %d): got %s, want %s", tc.after, tc.limit, describe(got), describe(tc.want))
			continue
		}
		for i := range got {
			if got[i].ID != tc.want[i].ID || got[i].Type != tc.want[i].Type || string(got[i].Data) != string(tc.want[i].Data) {
				t.Errorf("EventsAfter(%d, %d)[%d]: got %d %s %s, want %d %s %s", tc.after, tc.limit, i,
					got[i].ID, got[i].Type, got[i].Data, tc.want[i].ID, tc.want[i].Type, tc.want[i].Data)
			}
		}
	}
}

func testLastEventID(t *testing.T, s chat.Store) {
	if id := lastEventID(t, s); id != 0 {
		t.Fatalf("LastEventID of an empty log: got %d, want 0", id)
	}
	if evs := eventsAfter(t, s, 0); len(evs) != 0 {
		t.Fatalf("EventsAfter(0) of an empty log: got %s, want none", describe(evs))
	}
	u := createUser(t, s, "cid")
	var prev int64
	for i := range 3 {
		createMessage(t, s, u.ID, "m", at(i))
		id := lastEventID(t, s)
		evs := eventsAfter(t, s, prev)
		if len(evs) != 1 || evs[0].ID != id {
			t.Fatalf("after write %d: LastEventID %d, events after %d: %s; want exactly that one event", i, id, prev, describe(evs))
		}
		prev = id
	}
}

// signalTimeout bounds how long a store may take to signal a write; a
// database shared between instances may deliver the signal asynchronously.
const signalTimeout = 10 * time.Second

func testEventSignal(t *testing.T, s chat.Store) {
	sig := s.EventSignal()
	u := createUser(t, s, "dora")
	writes := []struct {
		name  string
		write func() error
	}{
		{"CreateMessage", func() error {
			_, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: u.ID, Text: "x", Created: at(0)})
			return err
		}},
		{"SetAvatar", func() error { return s.SetAvatar(ctx(t), u.ID, nil, at(0)) }},
		{"DeleteUserSessions", func() error {
			createSession(t, s, u.ID, "token", at(0))
			return s.DeleteUserSessions(ctx(t), u.ID, at(0))
		}},
	}
	for _, w := range writes {
		drain(sig)
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		select {
		case <-sig:
		case <-time.After(signalTimeout):
			t.Fatalf("%s: no value on EventSignal within %v", w.name, signalTimeout)
		}
	}
}

// drain empties a coalescing signal channel without waiting.
func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func testPing(t *testing.T, s chat.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

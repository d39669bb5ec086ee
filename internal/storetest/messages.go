package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"chatd/internal/chat"
)

func messageCases() []testCase {
	return []testCase{
		{"Messages/Create", testCreateMessage},
		{"Messages/IDsNeverReused", testMessageIDsNeverReused},
		{"Messages/Update", testUpdateMessage},
		{"Messages/Delete", testDeleteMessage},
		{"Messages/NotFound", testMessageNotFound},
		{"Messages/Idempotency", testIdempotency},
		{"Messages/IdempotencyAfterEditAndDelete", testIdempotencyAfterChange},
	}
}

func testCreateMessage(t *testing.T, s chat.Store) {
	u := createUser(t, s, "Trent")
	before := lastEventID(t, s)
	text := "héllo, мир 👋\n  spaces kept  "
	m := createMessage(t, s, u.ID, text, at(7))
	want := chat.Message{ID: m.ID, Text: text, UserID: u.ID, Username: "Trent", TimeCreated: at(7).Unix()}
	if m.ID <= 0 {
		t.Errorf("got id %d, want a positive id", m.ID)
	}
	wantMessage(t, "CreateMessage", m, want)
	got, err := s.MessageByID(ctx(t), m.ID)
	if err != nil {
		t.Fatalf("MessageByID: %v", err)
	}
	wantMessage(t, "MessageByID", got, want)
	second := createMessage(t, s, u.ID, "second", at(7))
	if second.ID <= m.ID {
		t.Errorf("second message: got id %d, want more than %d", second.ID, m.ID)
	}
	wantEvents(t, s, before,
		event(t, chat.EventMessageCreated, want, at(7)),
		event(t, chat.EventMessageCreated, second, at(7)))
	// The longest text, in 4-byte runes, comes back exactly as sent.
	long := strings.Repeat("😀", chat.MessageMaxLen)
	m = createMessage(t, s, u.ID, long, at(8))
	if got, err := s.MessageByID(ctx(t), m.ID); err != nil || got.Text != long {
		t.Errorf("MessageByID of a %d-rune text: got %d bytes, error %v; want %d bytes", chat.MessageMaxLen, len(got.Text), err, len(long))
	}
}

// wantMessage compares messages field by field, TimeUpdated by value.
func wantMessage(t *testing.T, what string, got, want chat.Message) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s: got %s, want %s", what, g, w)
	}
}

func testMessageIDsNeverReused(t *testing.T, s chat.Store) {
	u := createUser(t, s, "uma")
	createMessage(t, s, u.ID, "one", at(0))
	last := createMessage(t, s, u.ID, "two", at(0))
	if _, err := s.DeleteMessage(ctx(t), last.ID, at(1)); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	// A reader polling with after=last.ID must still see the next message,
	// so the id of a deleted newest message is never handed out again.
	next := createMessage(t, s, u.ID, "three", at(2))
	if next.ID <= last.ID {
		t.Errorf("after deleting the newest message %d: got id %d, want more", last.ID, next.ID)
	}
}

func testUpdateMessage(t *testing.T, s chat.Store) {
	u := createUser(t, s, "victor")
	m := createMessage(t, s, u.ID, "first draft", at(1))
	before := lastEventID(t, s)
	got, err := s.UpdateMessage(ctx(t), m.ID, "second draft", at(30))
	if err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	want := m
	want.Text = "second draft"
	want.TimeUpdated = ptr(at(30).Unix())
	wantMessage(t, "UpdateMessage", got, want)
	loaded, err := s.MessageByID(ctx(t), m.ID)
	if err != nil {
		t.Fatalf("MessageByID: %v", err)
	}
	wantMessage(t, "MessageByID after update", loaded, want)
	wantEvents(t, s, before, event(t, chat.EventMessageUpdated, want, at(30)))
}

func testDeleteMessage(t *testing.T, s chat.Store) {
	u := createUser(t, s, "walter")
	m := createMessage(t, s, u.ID, "to be edited", at(1))
	kept := createMessage(t, s, u.ID, "kept", at(2))
	edited, err := s.UpdateMessage(ctx(t), m.ID, "edited", at(3))
	if err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	before := lastEventID(t, s)
	got, err := s.DeleteMessage(ctx(t), m.ID, at(4))
	if err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	wantMessage(t, "DeleteMessage (the message as it was)", got, edited)
	_, err = s.MessageByID(ctx(t), m.ID)
	wantErr(t, "MessageByID of a deleted message", err, chat.ErrNotFound)
	_, err = s.DeleteMessage(ctx(t), m.ID, at(5))
	wantErr(t, "DeleteMessage a second time", err, chat.ErrNotFound)
	_, err = s.UpdateMessage(ctx(t), m.ID, "too late", at(5))
	wantErr(t, "UpdateMessage of a deleted message", err, chat.ErrNotFound)
	if _, err := s.MessageByID(ctx(t), kept.ID); err != nil {
		t.Errorf("the other message after DeleteMessage: %v", err)
	}
	wantEvents(t, s, before, event(t, chat.EventMessageDeleted, chat.MessageDeletedData{ID: m.ID}, at(4)))
}

func testMessageNotFound(t *testing.T, s chat.Store) {
	u := createUser(t, s, "xena")
	m := createMessage(t, s, u.ID, "only", at(0))
	before := lastEventID(t, s)
	missing := m.ID + 1000
	_, err := s.MessageByID(ctx(t), missing)
	wantErr(t, "MessageByID of a missing id", err, chat.ErrNotFound)
	_, err = s.UpdateMessage(ctx(t), missing, "text", at(1))
	wantErr(t, "UpdateMessage of a missing id", err, chat.ErrNotFound)
	_, err = s.DeleteMessage(ctx(t), missing, at(1))
	wantErr(t, "DeleteMessage of a missing id", err, chat.ErrNotFound)
	// Nothing changed, so nothing was logged.
	wantEvents(t, s, before)
}

func testIdempotency(t *testing.T, s chat.Store) {
	alice := createUser(t, s, "yvonne")
	bob := createUser(t, s, "zach")
	first, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: alice.ID, Text: "hi", IdempotencyKey: "k1", Created: at(1)})
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	before := lastEventID(t, s)
	// A retry, even with another text and time, returns the first answer.
	again, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: alice.ID, Text: "hi again", IdempotencyKey: "k1", Created: at(2)})
	if err != nil {
		t.Fatalf("CreateMessage retry: %v", err)
	}
	wantMessage(t, "CreateMessage retried with the same key", again, first)
	wantEvents(t, s, before)
	// Keys belong to a user: another user's key of the same spelling is new.
	other, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: bob.ID, Text: "hi", IdempotencyKey: "k1", Created: at(3)})
	if err != nil {
		t.Fatalf("CreateMessage by another user: %v", err)
	}
	if other.ID == first.ID || other.UserID != bob.ID {
		t.Errorf("same key, other user: got %+v, want a new message by user %d", other, bob.ID)
	}
	newKey, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: alice.ID, Text: "hi", IdempotencyKey: "k2", Created: at(4)})
	if err != nil {
		t.Fatalf("CreateMessage with a new key: %v", err)
	}
	noKey := createMessage(t, s, alice.ID, "hi", at(5))
	if newKey.ID == first.ID || noKey.ID == first.ID || noKey.ID == newKey.ID {
		t.Errorf("got ids %d (k1), %d (k2), %d (no key), want three different ids", first.ID, newKey.ID, noKey.ID)
	}
	wantEvents(t, s, before,
		event(t, chat.EventMessageCreated, other, at(3)),
		event(t, chat.EventMessageCreated, newKey, at(4)),
		event(t, chat.EventMessageCreated, noKey, at(5)))
}

func testIdempotencyAfterChange(t *testing.T, s chat.Store) {
	u := createUser(t, s, "amy")
	first, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: u.ID, Text: "v1", IdempotencyKey: "key", Created: at(1)})
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if _, err := s.UpdateMessage(ctx(t), first.ID, "v2", at(2)); err != nil {
		t.Fatalf("UpdateMessage: %v", err)
	}
	// The retry answers what the lost first answer said, not the edit.
	again, err := s.CreateMessage(ctx(t), chat.NewMessage{UserID: u.ID, Text: "v1", IdempotencyKey: "key", Created: at(3)})
	if err != nil {
		t.Fatalf("CreateMessage retry after edit: %v", err)
	}
	wantMessage(t, "retry after edit", again, first)
	if _, err := s.DeleteMessage(ctx(t), first.ID, at(4)); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	before := lastEventID(t, s)
	again, err = s.CreateMessage(ctx(t), chat.NewMessage{UserID: u.ID, Text: "v1", IdempotencyKey: "key", Created: at(5)})
	if err != nil {
		t.Fatalf("CreateMessage retry after delete: %v", err)
	}
	wantMessage(t, "retry after delete", again, first)
	wantEvents(t, s, before)
	_, err = s.MessageByID(ctx(t), first.ID)
	wantErr(t, "MessageByID after a retry of a deleted message", err, chat.ErrNotFound)
}

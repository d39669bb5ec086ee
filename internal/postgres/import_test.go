package postgres

import (
	"bytes"
	"chatd/internal/pgtest"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"chatd/internal/chat"
)

// seq yields vs, then err when it is not nil.
func seq[T any](err error, vs ...T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
		if err != nil {
			var zero T
			yield(zero, err)
		}
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	s := openStore(t, pgtest.SchemaURL(t))
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	users := []chat.User{
		{ID: 5, Login: "Alice", PasswordHash: "$argon2id$a", Created: t0},
		{ID: 9, Login: "bob", PasswordHash: "$argon2id$b", Created: t0.Add(time.Second)},
	}
	avatars := []chat.Avatar{{UserID: 5, ContentType: "image/png", Data: []byte{0x89, 0, 1}, ETag: `"a"`}}
	edited := t0.Add(time.Hour).Unix()
	msgs := []chat.Message{
		{ID: 3, Text: "first", UserID: 5, TimeCreated: t0.Unix() + 10, TimeUpdated: &edited},
		{ID: 7, Text: "second", UserID: 9, TimeCreated: t0.Unix() + 20},
	}
	sessions := []chat.Session{{ID: 4, UserID: 9, TokenHash: chat.HashToken("tok"), Created: t0, LastSeen: t0.Add(time.Minute)}}

	for run, want := range []int64{1, 0} { // the second run finds everything there
		steps := []struct {
			name string
			do   func() (int64, error)
			n    int
		}{
			{"users", func() (int64, error) { return s.ImportUsers(ctx, seq(nil, users...)) }, len(users)},
			{"avatars", func() (int64, error) { return s.ImportAvatars(ctx, seq(nil, avatars...)) }, len(avatars)},
			{"messages", func() (int64, error) { return s.ImportMessages(ctx, seq(nil, msgs...)) }, len(msgs)},
			{"sessions", func() (int64, error) { return s.ImportSessions(ctx, seq(nil, sessions...)) }, len(sessions)},
		}
		for _, step := range steps {
			n, err := step.do()
			if err != nil {
				t.Fatalf("run %d: import %s: %v", run+1, step.name, err)
			}
			if n != want*int64(step.n) {
				t.Errorf("run %d: import %s: got %d inserted, want %d", run+1, step.name, n, want*int64(step.n))
			}
		}
	}
	checkImported(t, s, users, avatars[0], msgs, sessions[0])

	counts, err := s.CountRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RowCounts{Users: 2, Avatars: 1, Messages: 2, Sessions: 1}); counts != want {
		t.Errorf("CountRows: got %+v, want %+v", counts, want)
	}
	// New rows continue above the imported ids.
	carol := mustUser(t, s, "carol")
	if carol.ID <= 9 {
		t.Errorf("a user created after the import: got id %d, want more than 9", carol.ID)
	}
	if err := s.AdvanceIDs(ctx, HighestIDs{Messages: 20}); err != nil {
		t.Fatalf("AdvanceIDs: %v", err)
	}
	m, err := s.CreateMessage(ctx, chat.NewMessage{UserID: carol.ID, Text: "new", Created: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 21 {
		t.Errorf("a message created after AdvanceIDs(messages: 20): got id %d, want 21", m.ID)
	}
	if err := s.AdvanceIDs(ctx, HighestIDs{Messages: 2}); err != nil {
		t.Fatalf("AdvanceIDs below the sequence: %v", err)
	}
	if m2, err := s.CreateMessage(ctx, chat.NewMessage{UserID: carol.ID, Text: "next", Created: t0.Add(2 * time.Hour)}); err != nil || m2.ID != 22 {
		t.Errorf("after AdvanceIDs with a lower floor: got id %d (%v), want 22: sequences never move back", m2.ID, err)
	}
}

// checkImported compares what the store returns with what was imported.
func checkImported(t *testing.T, s *Store, users []chat.User, avatar chat.Avatar, msgs []chat.Message, sess chat.Session) {
	t.Helper()
	ctx := t.Context()
	for _, want := range users {
		got, err := s.UserByLoginKey(ctx, chat.FoldLogin(want.Login))
		if err != nil || got.ID != want.ID || got.Login != want.Login || got.PasswordHash != want.PasswordHash || !got.Created.Equal(want.Created) {
			t.Errorf("user %q: got %+v (%v), want %+v", want.Login, got, err, want)
		}
	}
	gotAvatar, err := s.AvatarByUserID(ctx, avatar.UserID)
	if err != nil || gotAvatar.ContentType != avatar.ContentType || gotAvatar.ETag != avatar.ETag || !bytes.Equal(gotAvatar.Data, avatar.Data) {
		t.Errorf("avatar: got %+v (%v), want %+v", gotAvatar, err, avatar)
	}
	byID := map[int64]string{}
	for _, u := range users {
		byID[u.ID] = u.Login
	}
	for _, want := range msgs {
		want.Username = byID[want.UserID]
		got, err := s.MessageByID(ctx, want.ID)
		if err != nil {
			t.Errorf("message %d: %v", want.ID, err)
			continue
		}
		wantMessage(t, got, want)
	}
	gotSess, err := s.SessionByTokenHash(ctx, sess.TokenHash)
	if err != nil || gotSess.ID != sess.ID || gotSess.UserID != sess.UserID || !gotSess.Created.Equal(sess.Created) || !gotSess.LastSeen.Equal(sess.LastSeen) {
		t.Errorf("session: got %+v (%v), want %+v", gotSess, err, sess)
	}
}

func wantMessage(t *testing.T, got, want chat.Message) {
	t.Helper()
	same := got.ID == want.ID && got.Text == want.Text && got.UserID == want.UserID &&
		got.Username == want.Username && got.TimeCreated == want.TimeCreated &&
		(got.TimeUpdated == nil) == (want.TimeUpdated == nil) &&
		(got.TimeUpdated == nil || *got.TimeUpdated == *want.TimeUpdated)
	if !same {
		t.Errorf("message %d: got %+v, want %+v", want.ID, got, want)
	}
}

func TestImportStopsAtSourceError(t *testing.T) {
	t.Parallel()
	s := openStore(t, pgtest.SchemaURL(t))
	broken := errors.New("disk on fire")
	users := make([]chat.User, importBatch+1) // more than a batch: the first one is sent
	for i := range users {
		users[i] = chat.User{ID: int64(i + 1), Login: fmt.Sprintf("user%d", i), PasswordHash: "h", Created: time.Unix(1, 0)}
	}
	n, err := s.ImportUsers(t.Context(), seq(broken, users...))
	if !errors.Is(err, broken) {
		t.Errorf("ImportUsers from a failing source: got %v, want the source's error", err)
	}
	if n != importBatch {
		t.Errorf("ImportUsers from a failing source: got %d inserted, want the first batch of %d", n, importBatch)
	}
}

func TestImportRefusesAnotherRowUnderAnID(t *testing.T) {
	t.Parallel()
	s := openStore(t, pgtest.SchemaURL(t))
	intruder := mustUser(t, s, "intruder")
	users := []chat.User{{ID: intruder.ID, Login: "Alice", PasswordHash: "h", Created: time.Unix(1, 0)}}
	_, err := s.ImportUsers(t.Context(), seq(nil, users...))
	if err == nil || !strings.Contains(err.Error(), "taken by a different row") {
		t.Errorf("ImportUsers over another user's id: got %v, want an error naming the conflict", err)
	}
	if _, err := s.UserByLoginKey(t.Context(), chat.FoldLogin("Alice")); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("UserByLoginKey(Alice) after the refused import: got %v, want ErrNotFound", err)
	}
}

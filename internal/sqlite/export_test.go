package sqlite

import (
	"context"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"chatd/internal/chat"
)

// collect drains an export, failing the test on its error.
func collect[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func TestExport(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chatd.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	avatar := &chat.Avatar{ContentType: "image/png", Data: []byte{0x89, 'P', 'N', 'G', 0, 1, 2}, ETag: `"a1"`}
	alice, err := s.CreateUser(ctx, chat.NewUser{Login: "Alice", LoginKey: chat.FoldLogin("Alice"), PasswordHash: "$argon2id$a", Avatar: avatar, Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, chat.NewUser{Login: "bob", LoginKey: chat.FoldLogin("bob"), PasswordHash: "$argon2id$b", Created: t0.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []chat.Message
	for i, u := range []chat.User{alice, bob, alice} {
		m, err := s.CreateMessage(ctx, chat.NewMessage{UserID: u.ID, Text: "m" + string(rune('0'+i)), Created: t0.Add(time.Duration(10+i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	edited, err := s.UpdateMessage(ctx, msgs[0].ID, "edited", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Deleting the newest message leaves the counter above the highest row.
	if _, err := s.DeleteMessage(ctx, msgs[2].ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sess, err := s.CreateSession(ctx, bob.ID, chat.HashToken("tok"), t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	eq := func(what string, got, want any) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	eq("ExportUsers", collect(t, s.ExportUsers(ctx)), []chat.User{alice, bob})
	wantAvatar := *avatar
	wantAvatar.UserID = alice.ID
	eq("ExportAvatars", collect(t, s.ExportAvatars(ctx)), []chat.Avatar{wantAvatar})
	eq("ExportMessages", collect(t, s.ExportMessages(ctx)), []chat.Message{edited, msgs[1]})
	sess.Username = "bob" // CreateSession need not fill it; the export does
	eq("ExportSessions", collect(t, s.ExportSessions(ctx)), []chat.Session{sess})

	counts, err := s.CountRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq("CountRows", counts, RowCounts{Users: 2, Avatars: 1, Messages: 2, Sessions: 1})
	ids, err := s.HighestIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq("HighestIDs", ids, HighestIDs{Users: bob.ID, Messages: msgs[2].ID, Sessions: sess.ID})
}

func TestExportStopsEarly(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "chatd.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	for _, login := range []string{"one", "two", "three"} {
		if _, err := s.CreateUser(t.Context(), chat.NewUser{Login: login, LoginKey: login, PasswordHash: "h", Created: time.Unix(1, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	// A loop that stops early must close its cursor: otherwise each early
	// stop would keep a read connection, and the pool would run dry.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for range 2 * defaultReadConns {
		for _, err := range s.ExportUsers(ctx) {
			if err != nil {
				t.Fatalf("ExportUsers after early stops: %v", err)
			}
			break
		}
	}
}

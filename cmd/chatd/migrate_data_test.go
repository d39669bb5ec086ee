package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/pgtest"
	"chatd/internal/postgres"
	"chatd/internal/sqlite"
)

// migrateSource is a SQLite deployment with something of everything.
type migrateSource struct {
	path       string
	deletedMsg int64 // the id of a deleted newest message
}

func newMigrateSource(t *testing.T) migrateSource {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "chatd.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	defer s.Close()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var users []chat.User
	for i, login := range []string{"Alice", "bob", "Чарли"} {
		nu := chat.NewUser{Login: login, LoginKey: chat.FoldLogin(login), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$" + login, Created: t0.Add(time.Duration(i) * time.Second)}
		if i == 0 {
			nu.Avatar = &chat.Avatar{ContentType: "image/png", Data: testPNG(t, 3, 2), ETag: `"avatar-1"`}
		}
		u, err := s.CreateUser(ctx, nu)
		must(err)
		users = append(users, u)
	}
	var msgs []chat.Message
	for i, text := range []string{"hello", "to be edited", "мир 👋", "to be deleted"} {
		m, err := s.CreateMessage(ctx, chat.NewMessage{UserID: users[i%3].ID, Text: text, Created: t0.Add(time.Duration(60+i) * time.Second)})
		must(err)
		msgs = append(msgs, m)
	}
	_, err = s.UpdateMessage(ctx, msgs[1].ID, "edited", t0.Add(time.Hour))
	must(err)
	_, err = s.DeleteMessage(ctx, msgs[3].ID, t0.Add(time.Hour))
	must(err)
	for i, u := range users[:2] {
		_, err := s.CreateSession(ctx, u.ID, chat.HashToken("token-"+u.Login), t0.Add(time.Duration(i)*time.Minute))
		must(err)
	}
	return migrateSource{path: path, deletedMsg: msgs[3].ID}
}

func TestMigrateData(t *testing.T) {
	pgtest.BaseURL(t)
	src := newMigrateSource(t)
	env := envOf(map[string]string{"CHATD_DB": pgtest.SchemaURL(t)})

	// Without -sessions, then with it, then once more: the last run finds
	// everything there already and changes nothing.
	wantSessions := map[int]bool{0: false, 1: true, 2: true}
	for run := range 3 {
		args := []string{"-from", src.path}
		if wantSessions[run] {
			args = append(args, "-sessions")
		}
		var stdout, stderr bytes.Buffer
		if err := runMigrateData(t.Context(), args, env, &stdout, &stderr); err != nil {
			t.Fatalf("run %d: runMigrateData: %v\nstderr:\n%s", run+1, err, &stderr)
		}
		want := map[string][2]int64{"users": {3, 3}, "avatars": {1, 1}, "messages": {3, 3}}
		if wantSessions[run] {
			want["sessions"] = [2]int64{2, 2}
		}
		if got := parseCountTable(t, stdout.String()); !equalCounts(got, want) {
			t.Errorf("run %d: got counts %v, want %v\nstdout:\n%s", run+1, got, want, &stdout)
		}
		if run == 2 && !strings.Contains(stderr.String(), "messages: 3 read, 0 new, 3 already there") {
			t.Errorf("run 3: stderr does not say every message was there already:\n%s", &stderr)
		}
	}
	compareMigrated(t, src, env("CHATD_DB"))
}

// parseCountTable reads the lines "table sqlite postgres" of the summary.
func parseCountTable(t *testing.T, out string) map[string][2]int64 {
	t.Helper()
	got := make(map[string][2]int64)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("summary line %q: want table, sqlite count, postgres count", line)
		}
		from, err1 := strconv.ParseInt(f[1], 10, 64)
		to, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("summary line %q: counts are not numbers", line)
		}
		got[f[0]] = [2]int64{from, to}
	}
	return got
}

func equalCounts(a, b map[string][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// compareMigrated checks, row by row, that PostgreSQL holds what SQLite
// holds: ids, times, hashes, avatar bytes.
func compareMigrated(t *testing.T, src migrateSource, dstURL string) {
	t.Helper()
	ctx := t.Context()
	from, err := sqlite.Open(ctx, src.path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	to, err := postgres.Open(ctx, dstURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	for want, err := range from.ExportUsers(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.UserByLoginKey(ctx, chat.FoldLogin(want.Login))
		if err != nil || got.ID != want.ID || got.Login != want.Login || got.PasswordHash != want.PasswordHash || !got.Created.Equal(want.Created) {
			t.Errorf("user %q in postgres: got %+v (%v), want %+v", want.Login, got, err, want)
		}
	}
	for want, err := range from.ExportAvatars(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.AvatarByUserID(ctx, want.UserID)
		if err != nil || got.ContentType != want.ContentType || got.ETag != want.ETag || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("avatar of user %d in postgres: got %s %s, %d bytes (%v), want %s %s, %d bytes",
				want.UserID, got.ContentType, got.ETag, len(got.Data), err, want.ContentType, want.ETag, len(want.Data))
		}
	}
	for want, err := range from.ExportMessages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.MessageByID(ctx, want.ID)
		if err != nil || !messagesEqual(got, want) {
			t.Errorf("message %d in postgres: got %+v (%v), want %+v", want.ID, got, err, want)
		}
	}
	for want, err := range from.ExportSessions(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got, err := to.SessionByTokenHash(ctx, want.TokenHash)
		if err != nil || got.ID != want.ID || got.UserID != want.UserID || !got.Created.Equal(want.Created) || !got.LastSeen.Equal(want.LastSeen) {
			t.Errorf("session %d in postgres: got %+v (%v), want %+v", want.ID, got, err, want)
		}
	}
	// Ids continue above every id SQLite handed out, the deleted newest
	// message's included.
	u, err := to.UserByLoginKey(ctx, chat.FoldLogin("bob"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := to.CreateMessage(ctx, chat.NewMessage{UserID: u.ID, Text: "first on postgres", Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID <= src.deletedMsg {
		t.Errorf("first message on postgres: got id %d, want more than the deleted %d", m.ID, src.deletedMsg)
	}
}

// TestMigrateDataIntoUsedTarget: a target that holds other rows is never
// merged silently: another user under a source id stops the copy, and extra
// rows make the final counts differ, which fails the command.
func TestMigrateDataIntoUsedTarget(t *testing.T) {
	pgtest.BaseURL(t)
	src := newMigrateSource(t)
	for _, tc := range []struct {
		name     string
		intruder int64 // the id its user gets
		want     string
	}{
		{"id taken", 1, "taken by a different row"},
		{"extra rows", 100, "counts differ: users (3 in sqlite, 4 in postgres)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dstURL := pgtest.SchemaURL(t)
			addIntruder(t, dstURL, tc.intruder)
			var stdout, stderr bytes.Buffer
			err := runMigrateData(t.Context(), []string{"-from", src.path, "-to", dstURL}, envOf(nil), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// addIntruder creates a user unknown to the source, with the given id.
func addIntruder(t *testing.T, dbURL string, id int64) {
	t.Helper()
	s, err := postgres.Open(t.Context(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AdvanceIDs(t.Context(), postgres.HighestIDs{Users: id - 1}); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "intruder", LoginKey: chat.FoldLogin("intruder"), PasswordHash: "h", Created: time.Now()})
	if err != nil || u.ID != id {
		t.Fatalf("CreateUser(intruder): got id %d (%v), want %d", u.ID, err, id)
	}
}

func TestMigrateDataFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	const pgURL = "postgres://127.0.0.1:1/none"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no target", []string{"-from", missing}, nil, "must be a postgres:// URL"},
		{"sqlite target from CHATD_DB", []string{"-from", missing}, map[string]string{"CHATD_DB": "./data/chatd.db"}, "must be a postgres:// URL"},
		{"missing source", []string{"-from", missing, "-to", pgURL}, nil, "no such file"},
		{"missing source, target from CHATD_DB", []string{"-from", missing}, map[string]string{"CHATD_DB": pgURL}, "no such file"},
		{"stray argument", []string{"-to", pgURL, "extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runMigrateData(context.Background(), tc.args, envOf(tc.env), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a refused migration created the source file %s (stat: %v)", missing, err)
	}
}

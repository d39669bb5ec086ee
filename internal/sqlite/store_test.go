package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/storetest"
)

// openTest opens a store at path and closes it when the test ends.
func openTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) chat.Store {
		return openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	})
}

func TestOpenCreatesDirectory(t *testing.T) {
	// Characters that mean something in a URI must stay part of the name.
	path := filepath.Join(t.TempDir(), "a", "b?c#d%20e", "chat.db")
	s := openTest(t, path, Options{})
	var seq int
	var name, file string
	if err := s.reader.QueryRowContext(t.Context(), `PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		t.Fatalf("PRAGMA database_list: %v", err)
	}
	if file != path {
		t.Errorf("database file: got %q, want %q", file, path)
	}
	for _, name := range []string{path, path + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s: got mode %v, want no access for group and others", filepath.Base(name), mode)
		}
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openTest(t, path, Options{})
	u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "keep", LoginKey: "keep", PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	var want []int64
	for _, m := range ms {
		want = append(want, int64(m.version))
	}
	if got := migrationVersions(t, s.reader); !slices.Equal(got, want) {
		t.Fatalf("recorded versions: got %v, want %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	again := openTest(t, path, Options{})
	if got := migrationVersions(t, again.reader); !slices.Equal(got, want) {
		t.Errorf("versions after reopen: got %v, want %v", got, want)
	}
	if _, err := again.UserByID(t.Context(), u.ID); err != nil {
		t.Errorf("user after reopen: %v", err)
	}
}

func migrationVersions(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("scan version: %v", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return vs
}

func TestMigrationsAreNumbered(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s: got version %d, want %d (numbered 0001 upwards without gaps)", m.name, m.version, i+1)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openTest(t, path, Options{})
	_, err := s.writer.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`)
	if err != nil {
		t.Fatalf("record a future migration: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s2, err := Open(t.Context(), path, Options{}); err == nil {
		s2.Close()
		t.Errorf("Open of a database migrated by a newer chatd: got success, want an error")
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(t.Context(), path, Options{}); err == nil {
		s.Close()
		t.Errorf("Open of a file that is not a database: got success, want an error")
	}
}

// TestOtherWriter: a write lock held by another process (a backup tool, a
// second chatd by mistake) makes a write wait, not fail with "database is
// locked"; held past the busy timeout, the write fails as unavailable.
func TestOtherWriter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hold    time.Duration
		wantErr error
	}{
		{"released in time", 200 * time.Millisecond, nil},
		{"held too long", 2 * time.Second, chat.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chat.db")
			s := openTest(t, path, Options{BusyTimeout: time.Second})
			u, err := s.CreateUser(t.Context(), chat.NewUser{Login: "w", LoginKey: "w", PasswordHash: "h"})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			released := holdWriteLock(t, path, tc.hold)
			_, err = s.CreateMessage(t.Context(), chat.NewMessage{UserID: u.ID, Text: "waited", Created: time.Unix(1, 0)})
			if tc.wantErr == nil && err != nil {
				t.Errorf("CreateMessage while another process held the lock for %v: %v", tc.hold, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("CreateMessage while another process held the lock for %v: got %v, want %v", tc.hold, err, tc.wantErr)
			}
			if err := <-released; err != nil {
				t.Fatalf("release the lock: %v", err)
			}
		})
	}
}

// holdWriteLock takes the write lock of the database at path on a
// connection of its own and releases it after hold; the channel reports
// the release.
func holdWriteLock(t *testing.T, path string, hold time.Duration) <-chan error {
	t.Helper()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatalf("BEGIN IMMEDIATE on another connection: %v", err)
	}
	released := make(chan error, 1)
	go func() {
		time.Sleep(hold)
		_, err := conn.ExecContext(context.Background(), `COMMIT`)
		released <- errors.Join(err, conn.Close())
	}()
	return released
}

package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pragma returns the value of a PRAGMA on one connection of db.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmasInEffect(t *testing.T) {
	for _, tc := range []struct {
		sync string
		want string // PRAGMA synchronous answers a number
	}{
		{"", "2"}, {"FULL", "2"}, {"full", "2"}, {"NORMAL", "1"},
	} {
		t.Run("synchronous="+tc.sync, func(t *testing.T) {
			s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{Synchronous: tc.sync})
			checks := []struct {
				db         *sql.DB
				name, want string
			}{
				{s.writer, "journal_mode", "wal"},
				{s.writer, "synchronous", tc.want},
				{s.writer, "foreign_keys", "1"},
				{s.writer, "busy_timeout", "10000"},
				{s.reader, "journal_mode", "wal"},
				{s.reader, "foreign_keys", "1"},
				{s.reader, "query_only", "1"},
				{s.reader, "busy_timeout", "10000"},
			}
			for _, c := range checks {
				if got := pragma(t, c.db, c.name); !strings.EqualFold(got, c.want) {
					t.Errorf("PRAGMA %s: got %q, want %q", c.name, got, c.want)
				}
			}
		})
	}
}

func TestReaderCannotWrite(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	_, err := s.reader.ExecContext(t.Context(), `INSERT INTO meta (key, value) VALUES ('x', 1)`)
	if err == nil {
		t.Errorf("insert through the read pool: got nil error, want a query_only failure")
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "chat.db"), Options{})
	_, err := s.writer.ExecContext(t.Context(), `INSERT INTO messages (user_id, text, created) VALUES (12345, 'x', 0)`)
	if err == nil {
		t.Errorf("message of a missing user: got nil error, want a foreign key failure")
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"full", Options{Synchronous: "FULL"}, true},
		{"normal lower case", Options{Synchronous: "normal"}, true},
		{"off", Options{Synchronous: "OFF"}, false},
		{"extra", Options{Synchronous: "EXTRA"}, false},
		{"number", Options{Synchronous: "2"}, false},
		{"injection", Options{Synchronous: "FULL); PRAGMA foreign_keys(0"}, false},
		{"read conns", Options{ReadConns: 2}, true},
		{"negative read conns", Options{ReadConns: -1}, false},
		{"busy timeout", Options{BusyTimeout: time.Second}, true},
		{"negative busy timeout", Options{BusyTimeout: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chat.db")
			s, err := Open(t.Context(), path, tc.opts)
			if err == nil {
				s.Close()
			}
			if tc.ok && err != nil {
				t.Errorf("Open(%+v): got %v, want success", tc.opts, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("Open(%+v): got success, want an error", tc.opts)
			}
		})
	}
}

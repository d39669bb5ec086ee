package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"chatd/internal/chat"
	"chatd/internal/pgtest"
)

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.SchemaURL(t)
	const n = 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Open(t.Context(), dbURL, Options{})
			if err == nil {
				t.Cleanup(func() { s.Close() })
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
	}
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, distinct int
	query(t, dbURL, "SELECT count(*), count(DISTINCT version) FROM schema_migrations", &rows, &distinct)
	if rows != len(migrations) || distinct != len(migrations) {
		t.Errorf("schema_migrations: got %d rows (%d versions), want %d, each once", rows, distinct, len(migrations))
	}
}

// query scans one row of sql, run on a connection of its own.
func query(t *testing.T, dbURL, sql string, dest ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(t.Context(), sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestEventSignalAcrossInstances(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.SchemaURL(t)
	a, b := openStore(t, dbURL), openStore(t, dbURL)
	u := mustUser(t, a, "signal")
	drain(b.EventSignal())
	if _, err := a.CreateMessage(t.Context(), chat.NewMessage{UserID: u.ID, Text: "hi", Created: time.Unix(1, 0)}); err != nil {
		t.Fatalf("CreateMessage via A: %v", err)
	}
	select {
	case <-b.EventSignal():
	case <-time.After(time.Second):
		t.Fatal("B's EventSignal: no value within 1s of an event appended through A")
	}
	evs, err := b.EventsAfter(t.Context(), 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Type != chat.EventMessageCreated {
		t.Errorf("B's EventsAfter(0): got %d events (%v), want the one message.created", len(evs), err)
	}
}

func TestRevokedSessionAcrossInstances(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.SchemaURL(t)
	a, b := openStore(t, dbURL), openStore(t, dbURL)
	u := mustUser(t, a, "revoked")
	hash := chat.HashToken("token")
	if _, err := a.CreateSession(t.Context(), u.ID, hash, time.Unix(1, 0)); err != nil {
		t.Fatalf("CreateSession via A: %v", err)
	}
	if _, err := b.SessionByTokenHash(t.Context(), hash); err != nil {
		t.Fatalf("SessionByTokenHash via B before logout_all: %v", err)
	}
	if err := a.DeleteUserSessions(t.Context(), u.ID, time.Unix(2, 0)); err != nil {
		t.Fatalf("DeleteUserSessions via A: %v", err)
	}
	if _, err := b.SessionByTokenHash(t.Context(), hash); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("SessionByTokenHash via B after logout_all via A: got %v, want ErrNotFound", err)
	}
}

// TestReaderNeverSkips follows the event log the way the hub does (a cursor
// at the last id seen) while two instances write concurrently. Were ids
// committed out of order, the reader would pass an id whose row commits
// later and never see it.
func TestReaderNeverSkips(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.SchemaURL(t)
	a, b := openStore(t, dbURL), openStore(t, dbURL)
	u := mustUser(t, a, "writer")
	const writers, each = 6, 40
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			for j := range each {
				_, err := s.CreateMessage(t.Context(), chat.NewMessage{UserID: u.ID, Text: fmt.Sprint(i, j), Created: time.Unix(1, 0)})
				if err != nil {
					t.Errorf("CreateMessage: %v", err)
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	seen := follow(t, b, done)
	all, err := a.EventsAfter(t.Context(), 0, writers*each+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(all) || len(all) != writers*each {
		t.Errorf("a reader following the log saw %d events, want all %d (%d written)", len(seen), len(all), writers*each)
	}
}

// follow reads the log from a cursor until done is closed and one last read
// finds nothing new; it returns the ids it saw.
func follow(t *testing.T, s *Store, done <-chan struct{}) []int64 {
	t.Helper()
	var seen []int64
	var cursor int64
	for {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		evs, err := s.EventsAfter(t.Context(), cursor, 1000)
		if err != nil {
			t.Fatalf("EventsAfter(%d): %v", cursor, err)
		}
		for _, e := range evs {
			seen = append(seen, e.ID)
			cursor = e.ID
		}
		if finished && len(evs) == 0 {
			return seen
		}
	}
}

// TestUnreachableServer needs no PostgreSQL: nothing listens on the port.
func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = Open(t.Context(), "postgres://postgres@"+closed+"/test?sslmode=disable", Options{})
	if !errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("Open of a closed port: got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open of a closed port took %v, want an answer within 5s", d)
	}
}

func mustUser(t *testing.T, s *Store, login string) chat.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), chat.NewUser{
		Login: login, LoginKey: chat.FoldLogin(login), PasswordHash: "h", Created: time.Unix(1, 0),
	})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", login, err)
	}
	return u
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// TestAcquireTimeout: when every pooled connection is busy, a call waits
// at most AcquireTimeout and then answers ErrUnavailable (503), while a
// caller that gives up itself gets its own context's error, not a 503.
func TestAcquireTimeout(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), pgtest.SchemaURL(t), Options{MaxConns: 1, AcquireTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	held, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Ping(t.Context())
	if !errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("Ping with the pool exhausted: got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Ping with the pool exhausted took %v, want about the 200ms acquire timeout", d)
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.UserByID(canceled, 1)
	if !errors.Is(err, context.Canceled) || errors.Is(err, chat.ErrUnavailable) {
		t.Errorf("UserByID with a canceled context: got %v, want context.Canceled and not ErrUnavailable", err)
	}
	held.Release()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the connection came back to the pool: %v", err)
	}
}

package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"chatd/internal/chat"
	"chatd/internal/storetest"
)

// testDatabase returns the URL of the test server, or skips the test.
func testDatabase(t *testing.T) string {
	t.Helper()
	dbURL := os.Getenv("CHATD_TEST_POSTGRES")
	if dbURL == "" {
		t.Skip("CHATD_TEST_POSTGRES not set; .ci/run sets it to the local PostgreSQL")
	}
	return dbURL
}

// freshSchema creates an empty schema t_<random>, dropped when the test
// ends, and returns a URL whose connections work in it, so that tests run
// in parallel on one database and leave nothing behind.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := testDatabase(t)
	var b [8]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return withSearchPath(t, base, schema)
}

// admin runs one statement on a connection of its own.
func admin(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", redact(dbURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withSearchPath returns dbURL with search_path set to schema; pgx sends
// unknown URL parameters as run-time settings.
func withSearchPath(t *testing.T, dbURL, schema string) string {
	t.Helper()
	if !strings.Contains(dbURL, "://") {
		return dbURL + " search_path=" + schema
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse CHATD_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil {
		return u.Redacted()
	}
	return "the test database"
}

// openStore opens a Store on dbURL, closed when the test ends.
func openStore(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreContract(t *testing.T) {
	testDatabase(t)
	storetest.Run(t, func(t *testing.T) chat.Store {
		return openStore(t, freshSchema(t))
	})
}

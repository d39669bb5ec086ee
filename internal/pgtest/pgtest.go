// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the database named by CHATD_TEST_POSTGRES, dropped when the test
// ends, so suites run in parallel and leave nothing behind.
package pgtest

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
)

// EnvVar names the variable that holds the test server's URL.
const EnvVar = "CHATD_TEST_POSTGRES"

// BaseURL returns the test server's URL, or skips the test when none is set.
func BaseURL(t testing.TB) string {
	t.Helper()
	dbURL := os.Getenv(EnvVar)
	if dbURL == "" {
		t.Skip(EnvVar + " not set; .ci/run sets it to the local PostgreSQL")
	}
	return dbURL
}

// SchemaURL creates an empty schema t_<random>, dropped when the test ends,
// and returns a URL whose connections work inside it.
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	Exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { Exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return WithSearchPath(t, base, schema)
}

// Exec runs one statement on a connection of its own.
func Exec(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", Redact(dbURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// WithSearchPath returns dbURL with search_path set to schema; pgx sends
// unknown URL parameters as run-time settings.
func WithSearchPath(t testing.TB, dbURL, schema string) string {
	t.Helper()
	if !strings.Contains(dbURL, "://") {
		return dbURL + " search_path=" + schema
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Redact hides a password in a URL for messages.
func Redact(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil {
		return u.Redacted()
	}
	return "the test database"
}

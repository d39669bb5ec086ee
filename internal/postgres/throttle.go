package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LoginFailures returns how many failures were recorded for key at or after
// since, and the earliest of them (the zero time when none). Every instance
// counts the same rows, so the limit holds across instances.
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var earliest *time.Time
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, "SELECT count(*), min(at) FROM login_failures WHERE key = $1 AND at >= $2",
			key, since).Scan(&n, &earliest)
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: count login failures: %w", err)
	}
	if earliest == nil {
		return n, time.Time{}, nil
	}
	return n, *earliest, nil
}

// RecordLoginFailure records one failure for key at the given time.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, at time.Time) error {
	return s.execOne(ctx, "record login failure", "INSERT INTO login_failures (key, at) VALUES ($1, $2)", key, at)
}

// ClearLoginFailures forgets every failure recorded for key.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	return s.execOne(ctx, "clear login failures", "DELETE FROM login_failures WHERE key = $1", key)
}

// execOne runs one statement outside a transaction.
func (s *Store) execOne(ctx context.Context, what, sql string, args ...any) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}

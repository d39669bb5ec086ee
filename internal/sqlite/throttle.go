package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LoginFailures returns how many failures were recorded for key at or after
// since, and the earliest of them (the zero time when none).
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var earliest sql.NullInt64
	err := s.reader.QueryRowContext(ctx, `SELECT count(*), min(at) FROM login_failures WHERE key = ? AND at >= ?`,
		key, unix(since)).Scan(&n, &earliest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: login failures: %w", err)
	}
	if !earliest.Valid {
		return 0, time.Time{}, nil
	}
	return n, fromUnix(earliest.Int64), nil
}

// RecordLoginFailure records one failure for key at the given time.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, at time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES (?, ?)`, key, unix(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: record login failure: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets every failure recorded for key.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: clear login failures: %w", err)
	}
	return nil
}

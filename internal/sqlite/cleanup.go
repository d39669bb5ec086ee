package sqlite

import (
	"context"
	"fmt"
	"time"

	"chatd/internal/chat"
)

// Cleanup deletes what p says has expired, in one transaction.
func (s *Store) Cleanup(ctx context.Context, p chat.CleanupPolicy) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		steps := []struct {
			name string
			run  func(context.Context, *txn, chat.CleanupPolicy) error
		}{
			{"idle sessions", cleanSessions},
			{"events", pruneEvents},
			{"expired rows", cleanExpired},
		}
		for _, step := range steps {
			if err := step.run(ctx, tx, p); err != nil {
				return fmt.Errorf("%s: %w", step.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: cleanup: %w", err)
	}
	return nil
}

// cleanSessions deletes sessions idle since before Now-SessionIdle, with one
// sessions.revoked event per user so that their streams close.
func cleanSessions(ctx context.Context, tx *txn, p chat.CleanupPolicy) error {
	rows, err := tx.QueryContext(ctx, `DELETE FROM sessions WHERE last_seen < ? RETURNING user_id, id`,
		unix(p.Now.Add(-p.SessionIdle)))
	if err != nil {
		return err
	}
	byUser := make(map[int64][]int64)
	var users []int64
	for rows.Next() {
		var user, id int64
		if err := rows.Scan(&user, &id); err != nil {
			rows.Close()
			return err
		}
		if byUser[user] == nil {
			users = append(users, user)
		}
		byUser[user] = append(byUser[user], id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, user := range users {
		data := chat.SessionsRevokedData{UserID: user, SessionIDs: byUser[user]}
		if err := tx.appendEvent(ctx, chat.EventSessionsRevoked, data, p.Now); err != nil {
			return err
		}
	}
	return nil
}

// pruneEvents deletes the events both older than KeepEventsFor and not among
// the newest KeepEvents, and moves the horizon to the highest id deleted.
func pruneEvents(ctx context.Context, tx *txn, p chat.CleanupPolicy) error {
	var newestKept int64 // the lowest id among the newest KeepEvents
	err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`,
		max(p.KeepEvents-1, 0)).Scan(&newestKept)
	if err != nil {
		return err
	}
	if p.KeepEvents <= 0 {
		newestKept = 1<<63 - 1
	}
	var pruned int64
	err = tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events WHERE id < ? AND created < ?`,
		newestKept, unix(p.Now.Add(-p.KeepEventsFor))).Scan(&pruned)
	if err != nil || pruned == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM events WHERE id <= ? AND created < ?`,
		pruned, unix(p.Now.Add(-p.KeepEventsFor)))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`, horizonKey, pruned)
	return err
}

// cleanExpired deletes expired tickets, idempotency keys and login failures.
func cleanExpired(ctx context.Context, tx *txn, p chat.CleanupPolicy) error {
	deletes := []struct {
		query  string
		before time.Time
	}{
		{`DELETE FROM tickets WHERE expires <= ?`, p.Now},
		{`DELETE FROM idempotency_keys WHERE created < ?`, p.Now.Add(-p.IdempotencyFor)},
		{`DELETE FROM login_failures WHERE at < ?`, p.Now.Add(-p.LoginWindow)},
	}
	for _, d := range deletes {
		if _, err := tx.ExecContext(ctx, d.query, unix(d.before)); err != nil {
			return err
		}
	}
	return nil
}

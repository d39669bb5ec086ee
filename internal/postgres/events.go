package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// EventsAfter returns at most limit events with ID > afterID in ID order. It
// returns chat.ErrHistoryGone when events after afterID have been pruned.
func (s *Store) EventsAfter(ctx context.Context, afterID int64, limit int) ([]chat.Event, error) {
	afterID = max(afterID, 0) // ids are positive: "after -1" is "after 0"
	var evs []chat.Event
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		// The horizon check sits in the same statement, so the rows come
		// from a snapshot in which nothing after afterID was pruned. An empty
		// answer is then either "nothing new" or "pruned": the second query
		// tells which.
		rows, _ := conn.Query(ctx, `SELECT id, type, data, created FROM events
			WHERE id > $1 AND $1 >= (SELECT pruned_through FROM event_log)
			ORDER BY id LIMIT $2`, afterID, max(limit, 0))
		var err error
		evs, err = pgx.CollectRows(rows, scanEvent)
		if err != nil || len(evs) > 0 {
			return err
		}
		var horizon int64
		if err := conn.QueryRow(ctx, "SELECT pruned_through FROM event_log").Scan(&horizon); err != nil {
			return err
		}
		if afterID < horizon {
			return chat.ErrHistoryGone
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: events after %d: %w", afterID, err)
	}
	return evs, nil
}

func scanEvent(row pgx.CollectableRow) (chat.Event, error) {
	var e chat.Event
	var typ string
	var data []byte
	if err := row.Scan(&e.ID, &typ, &data, &e.Created); err != nil {
		return chat.Event{}, err
	}
	e.Type, e.Data = chat.EventType(typ), json.RawMessage(data)
	return e, nil
}

// LastEventID returns the highest event ID ever handed out, or 0 for a log
// that never had one: after everything was pruned it is the pruned horizon,
// not 0, so that a reader starting "from now" does not ask for history.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, `SELECT greatest(
			(SELECT max(id) FROM events), (SELECT pruned_through FROM event_log))`).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: last event id: %w", err)
	}
	return id, nil
}

// Cleanup deletes what the policy says has expired. Expired sessions are
// revoked with one sessions.revoked event per user.
func (s *Store) Cleanup(ctx context.Context, p chat.CleanupPolicy) error {
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		if err := pruneEvents(ctx, tx, p); err != nil {
			return err
		}
		if err := s.expireSessions(ctx, tx, p.Now.Add(-p.SessionIdle), p.Now); err != nil {
			return err
		}
		for _, del := range []struct {
			sql    string
			before time.Time
		}{
			{"DELETE FROM tickets WHERE expires <= $1", p.Now},
			{"DELETE FROM idempotency_keys WHERE time_created < $1", p.Now.Add(-p.IdempotencyFor)},
			{"DELETE FROM login_failures WHERE at < $1", p.Now.Add(-p.LoginWindow)},
		} {
			if _, err := tx.Exec(ctx, del.sql, del.before); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: cleanup: %w", err)
	}
	return nil
}

// pruneEvents deletes the events that are both older than KeepEventsFor and
// not among the newest KeepEvents, and moves the horizon past them. Newest
// is by id: the (KeepEvents+1)-th newest and everything below it may go.
func pruneEvents(ctx context.Context, tx pgx.Tx, p chat.CleanupPolicy) error {
	_, err := tx.Exec(ctx, `WITH gone AS (
			DELETE FROM events
			WHERE created < $1
			  AND id <= coalesce((SELECT id FROM events ORDER BY id DESC OFFSET $2 LIMIT 1), 0)
			RETURNING id)
		UPDATE event_log SET pruned_through = greatest(pruned_through, (SELECT max(id) FROM gone))`,
		p.Now.Add(-p.KeepEventsFor), max(p.KeepEvents, 0))
	if err != nil {
		return fmt.Errorf("prune events: %w", err)
	}
	return nil
}

// expireSessions deletes the sessions last seen before idleSince, with one
// sessions.revoked event per user so that their open streams end.
func (s *Store) expireSessions(ctx context.Context, tx pgx.Tx, idleSince, now time.Time) error {
	rows, _ := tx.Query(ctx, `DELETE FROM sessions WHERE last_seen < $1 RETURNING user_id, id`, idleSince)
	byUser := make(map[int64][]int64)
	var userID, id int64
	_, err := pgx.ForEachRow(rows, []any{&userID, &id}, func() error {
		byUser[userID] = append(byUser[userID], id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("expire sessions: %w", err)
	}
	for _, user := range slices.Sorted(maps.Keys(byUser)) {
		ids := byUser[user]
		slices.Sort(ids)
		err := s.appendEvent(ctx, tx, chat.EventSessionsRevoked, chat.SessionsRevokedData{UserID: user, SessionIDs: ids}, now)
		if err != nil {
			return err
		}
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"chatd/internal/chat"
)

// horizonKey names the meta row holding the highest pruned event id.
const horizonKey = "events_horizon"

// horizon returns the highest pruned event id, 0 when nothing was pruned.
func horizon(ctx context.Context, tx *sql.Tx) (int64, error) {
	var h int64
	err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT value FROM meta WHERE key = ?), 0)`, horizonKey).Scan(&h)
	return h, err
}

// EventsAfter returns at most limit events with ID > afterID in ID order, or
// chat.ErrHistoryGone when some of them were pruned.
func (s *Store) EventsAfter(ctx context.Context, afterID int64, limit int) ([]chat.Event, error) {
	var evs []chat.Event
	// One snapshot: a Cleanup committing between reading the horizon and
	// reading the events must not turn a gap into a silent one.
	err := s.read(ctx, func(tx *sql.Tx) error {
		h, err := horizon(ctx, tx)
		if err != nil {
			return err
		}
		if afterID < h {
			return chat.ErrHistoryGone
		}
		evs, err = queryEvents(ctx, tx, afterID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: events after %d: %w", afterID, err)
	}
	return evs, nil
}

func queryEvents(ctx context.Context, tx *sql.Tx, afterID int64, limit int) ([]chat.Event, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, type, data, created FROM events WHERE id > ? ORDER BY id LIMIT ?`,
		afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []chat.Event
	for rows.Next() {
		var e chat.Event
		var data string
		var created int64
		if err := rows.Scan(&e.ID, &e.Type, &data, &created); err != nil {
			return nil, err
		}
		e.Data, e.Created = json.RawMessage(data), fromUnix(created)
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// LastEventID returns the highest event id the log has handed out: pruning
// never lowers it, so "from now on" stays a valid place to resume.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.reader.QueryRowContext(ctx, `SELECT max(coalesce((SELECT max(id) FROM events), 0),
		coalesce((SELECT value FROM meta WHERE key = ?), 0))`, horizonKey).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: last event id: %w", err)
	}
	return id, nil
}

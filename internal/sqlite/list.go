package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"

	"chatd/internal/chat"
)

// ListMessages returns the messages q selects in ascending id order, reading
// about q.Limit rows through the primary key or the (created, id) index.
func (s *Store) ListMessages(ctx context.Context, q chat.MessageQuery) ([]chat.Message, error) {
	if q.Limit < 1 || q.Limit > chat.MaxListLimit {
		return nil, fmt.Errorf("sqlite: list messages: limit %d out of range 1 to %d", q.Limit, chat.MaxListLimit)
	}
	var msgs []chat.Message
	err := s.read(ctx, func(tx *sql.Tx) error {
		byID, err := readByID(ctx, tx, q)
		if err != nil {
			return err
		}
		query, args := listQuery(q, byID)
		msgs, err = queryMessages(ctx, tx, query, args, q.Limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list messages: %w", err)
	}
	// Each query reads in the order its index gives; the answer is by id.
	slices.SortFunc(msgs, func(a, b chat.Message) int { return cmp.Compare(a.ID, b.ID) })
	return msgs, nil
}

// cursorCreatedQuery finds the creation time of the newest message at or
// before an id cursor.
const cursorCreatedQuery = `SELECT created FROM messages m WHERE id <= ? ORDER BY id DESC LIMIT 1`

// readByID decides which index a forward read follows. With one cursor it
// is that cursor's. With both, it is whichever cursor lies further along,
// judged by the creation time of the message at the after cursor: reading
// from the other one would first pass over every message between the two.
func readByID(ctx context.Context, tx *sql.Tx, q chat.MessageQuery) (bool, error) {
	if !q.HasSince || !q.HasAfter {
		return !q.HasSince, nil
	}
	var created int64
	err := tx.QueryRowContext(ctx, cursorCreatedQuery, q.AfterID).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return created > q.Since, err
}

func queryMessages(ctx context.Context, tx *sql.Tx, query string, args []any, limit int) ([]chat.Message, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := make([]chat.Message, 0, min(limit, 128))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// listQuery returns the SQL for q. Every form bounds the id range (with 0
// and MaxInt64 when there is no cursor) so that SQLite always seeks into an
// index and reads on from there in index order, stopping after LIMIT rows:
//   - forward by id: the primary key from id > after, oldest first;
//   - forward by time: the (created, id) index from created > since;
//   - otherwise: the primary key backwards from id < before, newest first.
//
// INDEXED BY and NOT INDEXED pin the index: with both a time and an id
// range the planner may otherwise pick one and sort every row in the other.
func listQuery(q chat.MessageQuery, byID bool) (string, []any) {
	before := q.BeforeID
	if before <= 0 {
		before = math.MaxInt64
	}
	switch {
	case q.Forward() && byID:
		return messageColumns + ` FROM messages m NOT INDEXED JOIN users u ON u.id = m.user_id
			WHERE m.id > ? AND m.id < ? AND (? OR m.created > ?) ORDER BY m.id LIMIT ?`,
			[]any{q.AfterID, before, !q.HasSince, q.Since, q.Limit}
	case q.Forward():
		return messageColumns + ` FROM messages m INDEXED BY messages_created_id JOIN users u ON u.id = m.user_id
			WHERE m.created > ? AND m.id > ? AND m.id < ? ORDER BY m.created, m.id LIMIT ?`,
			[]any{q.Since, q.AfterID, before, q.Limit}
	default:
		return messageSelect + ` WHERE m.id < ? ORDER BY m.id DESC LIMIT ?`,
			[]any{before, q.Limit}
	}
}

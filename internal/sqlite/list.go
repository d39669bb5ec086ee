package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"chatd/internal/chat"
)

// ListMessages returns the messages q selects in ascending id order, reading
// at most q.Limit rows through the primary key or the (created, id) index.
func (s *Store) ListMessages(ctx context.Context, q chat.MessageQuery) ([]chat.Message, error) {
	if q.Limit < 1 || q.Limit > chat.MaxListLimit {
		return nil, fmt.Errorf("sqlite: list messages: limit %d out of range 1 to %d", q.Limit, chat.MaxListLimit)
	}
	query, args := listQuery(q)
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list messages: %w", err)
	}
	defer rows.Close()
	msgs := make([]chat.Message, 0, min(q.Limit, 128))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list messages: %w", err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list messages: %w", err)
	}
	// Each query reads in the order its index gives; the answer is by id.
	slices.SortFunc(msgs, func(a, b chat.Message) int { return cmp.Compare(a.ID, b.ID) })
	return msgs, nil
}

// listQuery returns the SQL for q. Every form bounds the id range (with 0
// and MaxInt64 when there is no cursor) so that SQLite always seeks into an
// index and reads forward from there, stopping after LIMIT rows:
//   - since: the (created, id) index from created > since, oldest first;
//   - after: the primary key from id > after, oldest first;
//   - otherwise: the primary key backwards from id < before, newest first.
func listQuery(q chat.MessageQuery) (string, []any) {
	before := q.BeforeID
	if before <= 0 {
		before = math.MaxInt64
	}
	switch {
	case q.HasSince:
		return sinceSelect + ` WHERE m.created > ? AND m.id > ? AND m.id < ? ORDER BY m.created, m.id LIMIT ?`,
			[]any{q.Since, q.AfterID, before, q.Limit}
	case q.HasAfter:
		return messageSelect + ` WHERE m.id > ? AND m.id < ? ORDER BY m.id LIMIT ?`,
			[]any{q.AfterID, before, q.Limit}
	default:
		return messageSelect + ` WHERE m.id < ? ORDER BY m.id DESC LIMIT ?`,
			[]any{before, q.Limit}
	}
}

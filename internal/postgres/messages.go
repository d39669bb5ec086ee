package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// messageColumns are what scanMessage reads, from messages m joined with
// users u.
const messageColumns = "m.id, m.text, m.user_id, u.login, m.time_created, m.time_updated"

func scanMessage(row pgx.Row) (chat.Message, error) {
	var m chat.Message
	var created time.Time
	var updated *time.Time
	if err := row.Scan(&m.ID, &m.Text, &m.UserID, &m.Username, &created, &updated); err != nil {
		return chat.Message{}, noRows(err)
	}
	m.TimeCreated = created.Unix()
	if updated != nil {
		u := updated.Unix()
		m.TimeUpdated = &u
	}
	return m, nil
}

// seconds drops the fraction of t: messages keep whole seconds, as the API
// shows them, so that "timecreated > begin" agrees with what clients saw.
func seconds(t time.Time) time.Time { return time.Unix(t.Unix(), 0) }

// CreateMessage stores a message and appends a message.created event. A
// repeated IdempotencyKey of the same user returns the first answer and
// changes nothing. It returns chat.ErrNotFound when the user does not exist.
func (s *Store) CreateMessage(ctx context.Context, nm chat.NewMessage) (chat.Message, error) {
	var m chat.Message
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		// The write lock is held already, so a concurrent retry with the
		// same key waits here and then finds this one's answer.
		var err error
		if nm.IdempotencyKey != "" {
			m, err = firstAnswer(ctx, tx, nm.UserID, nm.IdempotencyKey)
			if !errors.Is(err, chat.ErrNotFound) {
				return err
			}
		}
		m, err = scanMessage(tx.QueryRow(ctx, `WITH m AS (
				INSERT INTO messages (user_id, text, time_created) VALUES ($1, $2, $3) RETURNING *)
			SELECT `+messageColumns+` FROM m JOIN users u ON u.id = m.user_id`,
			nm.UserID, nm.Text, seconds(nm.Created)))
		if isForeignKeyViolation(err) {
			return chat.ErrNotFound
		}
		if err != nil {
			return err
		}
		if nm.IdempotencyKey != "" {
			_, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, message_id, text, time_created)
				VALUES ($1, $2, $3, $4, $5)`, nm.UserID, nm.IdempotencyKey, m.ID, m.Text, seconds(nm.Created))
			if err != nil {
				return fmt.Errorf("store idempotency key: %w", err)
			}
		}
		return s.appendEvent(ctx, tx, chat.EventMessageCreated, m, nm.Created)
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("postgres: create message: %w", err)
	}
	return m, nil
}

// firstAnswer returns the message as first created under the user's key, or
// chat.ErrNotFound for a new key.
func firstAnswer(ctx context.Context, tx pgx.Tx, userID int64, key string) (chat.Message, error) {
	return scanMessage(tx.QueryRow(ctx, `SELECT k.message_id, k.text, k.user_id, u.login, k.time_created, NULL::timestamptz
		FROM idempotency_keys k JOIN users u ON u.id = k.user_id
		WHERE k.user_id = $1 AND k.key = $2`, userID, key))
}

// MessageByID returns the message with id, or chat.ErrNotFound.
func (s *Store) MessageByID(ctx context.Context, id int64) (chat.Message, error) {
	var m chat.Message
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var err error
		m, err = scanMessage(conn.QueryRow(ctx, "SELECT "+messageColumns+
			" FROM messages m JOIN users u ON u.id = m.user_id WHERE m.id = $1", id))
		return err
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("postgres: message %d: %w", id, err)
	}
	return m, nil
}

// ListMessages returns the messages q selects in ascending id order.
func (s *Store) ListMessages(ctx context.Context, q chat.MessageQuery) ([]chat.Message, error) {
	query, args := listQuery(q)
	var msgs []chat.Message
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		rows, _ := conn.Query(ctx, query, args...)
		var err error
		msgs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Message, error) {
			return scanMessage(row)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list messages: %w", err)
	}
	if !q.Forward() {
		slices.Reverse(msgs)
	}
	return msgs, nil
}

// listQuery writes the SQL of q with only the conditions q uses, so that
// each bound is an index condition on the primary key (or on time_created)
// and the query reads about q.Limit rows: a catch-all "$1 OR id > $2" would
// defeat the index once the plan is cached. Without a forward cursor it
// reads the newest rows backwards; ListMessages turns them around.
func listQuery(q chat.MessageQuery) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.HasAfter {
		add("m.id > ?", q.AfterID)
	}
	if q.BeforeID > 0 {
		add("m.id < ?", q.BeforeID)
	}
	if q.HasSince {
		add("m.time_created > ?", time.Unix(q.Since, 0))
	}
	var b strings.Builder
	b.WriteString("SELECT " + messageColumns + " FROM messages m JOIN users u ON u.id = m.user_id")
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	if q.Forward() {
		b.WriteString(" ORDER BY m.id")
	} else {
		b.WriteString(" ORDER BY m.id DESC")
	}
	args = append(args, q.Limit)
	b.WriteString(" LIMIT $" + strconv.Itoa(len(args)))
	return b.String(), args
}

// UpdateMessage replaces the text, sets TimeUpdated to now and appends a
// message.updated event. It returns chat.ErrNotFound when there is no message.
func (s *Store) UpdateMessage(ctx context.Context, id int64, text string, now time.Time) (chat.Message, error) {
	var m chat.Message
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		m, err = scanMessage(tx.QueryRow(ctx, `WITH m AS (
				UPDATE messages SET text = $2, time_updated = $3 WHERE id = $1 RETURNING *)
			SELECT `+messageColumns+` FROM m JOIN users u ON u.id = m.user_id`, id, text, seconds(now)))
		if err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, chat.EventMessageUpdated, m, now)
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("postgres: update message %d: %w", id, err)
	}
	return m, nil
}

// DeleteMessage deletes the message, appends a message.deleted event and
// returns the message as it was, or chat.ErrNotFound when there is none.
func (s *Store) DeleteMessage(ctx context.Context, id int64, now time.Time) (chat.Message, error) {
	var m chat.Message
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var err error
		m, err = scanMessage(tx.QueryRow(ctx, `WITH m AS (
				DELETE FROM messages WHERE id = $1 RETURNING *)
			SELECT `+messageColumns+` FROM m JOIN users u ON u.id = m.user_id`, id))
		if err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, chat.EventMessageDeleted, chat.MessageDeletedData{ID: id}, now)
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("postgres: delete message %d: %w", id, err)
	}
	return m, nil
}

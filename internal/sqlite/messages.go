package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"chatd/internal/chat"
)

// messageSelect reads messages with their authors' logins.
const (
	messageColumns = `SELECT m.id, m.text, m.user_id, u.login, m.created, m.updated`
	messageSelect  = messageColumns + ` FROM messages m JOIN users u ON u.id = m.user_id`
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanMessage(row scanner) (chat.Message, error) {
	var m chat.Message
	var updated sql.NullInt64
	if err := row.Scan(&m.ID, &m.Text, &m.UserID, &m.Username, &m.TimeCreated, &updated); err != nil {
		return chat.Message{}, notFound(err)
	}
	if updated.Valid {
		m.TimeUpdated = &updated.Int64
	}
	return m, nil
}

// CreateMessage stores a message and appends a message.created event, or
// returns the first message created with the same idempotency key.
func (s *Store) CreateMessage(ctx context.Context, nm chat.NewMessage) (chat.Message, error) {
	var m chat.Message
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		if nm.IdempotencyKey != "" {
			first, err := idempotentResponse(ctx, tx, nm.UserID, nm.IdempotencyKey)
			if !errors.Is(err, chat.ErrNotFound) {
				m = first
				return err
			}
		}
		var err error
		m, err = insertMessage(ctx, tx, nm)
		return err
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: create message by user %d: %w", nm.UserID, err)
	}
	return m, nil
}

// idempotentResponse returns the message first created with key, or
// chat.ErrNotFound when the key is new (or forgotten).
func idempotentResponse(ctx context.Context, tx *txn, userID int64, key string) (chat.Message, error) {
	var response string
	err := tx.QueryRowContext(ctx, `SELECT response FROM idempotency_keys WHERE user_id = ? AND key = ?`,
		userID, key).Scan(&response)
	if err != nil {
		return chat.Message{}, notFound(err)
	}
	var m chat.Message
	if err := json.Unmarshal([]byte(response), &m); err != nil {
		return chat.Message{}, fmt.Errorf("decode idempotent response: %w", err)
	}
	return m, nil
}

const (
	authorSQL        = `SELECT login FROM users WHERE id = ?`
	insertMessageSQL = `INSERT INTO messages (user_id, text, created) VALUES (?, ?, ?) RETURNING id`
)

// insertMessage stores a new message, its idempotency key and its event.
func insertMessage(ctx context.Context, tx *txn, nm chat.NewMessage) (chat.Message, error) {
	m := chat.Message{UserID: nm.UserID, Text: nm.Text, TimeCreated: unix(nm.Created)}
	err := tx.QueryRowContext(ctx, authorSQL, nm.UserID).Scan(&m.Username)
	if err != nil {
		return chat.Message{}, fmt.Errorf("author: %w", notFound(err))
	}
	err = tx.QueryRowContext(ctx, insertMessageSQL, nm.UserID, nm.Text, m.TimeCreated).Scan(&m.ID)
	if err != nil {
		return chat.Message{}, err
	}
	if nm.IdempotencyKey != "" {
		response, err := json.Marshal(m)
		if err != nil {
			return chat.Message{}, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, key, response, created) VALUES (?, ?, ?, ?)`,
			nm.UserID, nm.IdempotencyKey, string(response), m.TimeCreated)
		if err != nil {
			return chat.Message{}, fmt.Errorf("store idempotency key: %w", err)
		}
	}
	return m, tx.appendEvent(ctx, chat.EventMessageCreated, m, nm.Created)
}

// MessageByID returns the message with id, or chat.ErrNotFound.
func (s *Store) MessageByID(ctx context.Context, id int64) (chat.Message, error) {
	m, err := scanMessage(s.reader.QueryRowContext(ctx, messageSelect+` WHERE m.id = ?`, id))
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: message %d: %w", id, err)
	}
	return m, nil
}

// UpdateMessage replaces the text, sets TimeUpdated and appends a
// message.updated event.
func (s *Store) UpdateMessage(ctx context.Context, id int64, text string, now time.Time) (chat.Message, error) {
	var m chat.Message
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET text = ?, updated = ? WHERE id = ?`, text, unix(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, chat.ErrNotFound)
		}
		m, err = scanMessage(tx.QueryRowContext(ctx, messageSelect+` WHERE m.id = ?`, id))
		if err != nil {
			return err
		}
		return tx.appendEvent(ctx, chat.EventMessageUpdated, m, now)
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: update message %d: %w", id, err)
	}
	return m, nil
}

// DeleteMessage deletes the message, appends a message.deleted event and
// returns the message as it was.
func (s *Store) DeleteMessage(ctx context.Context, id int64, now time.Time) (chat.Message, error) {
	var m chat.Message
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var err error
		m, err = scanMessage(tx.QueryRowContext(ctx, messageSelect+` WHERE m.id = ?`, id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id); err != nil {
			return err
		}
		return tx.appendEvent(ctx, chat.EventMessageDeleted, chat.MessageDeletedData{ID: id}, now)
	})
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: delete message %d: %w", id, err)
	}
	return m, nil
}

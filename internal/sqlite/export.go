package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"

	"chatd/internal/chat"
)

// This file is the reading side of `chatd migrate-data`: it streams what a
// move to another store keeps (users with their password hashes, avatars,
// messages with their ids and times, sessions) through the read-only pool,
// in id order, without holding everything in memory. The event log, login
// failures, tickets and idempotency keys are not exported: they are
// short-lived, and the new store starts its own.

// RowCounts are the numbers of rows migrate-data moves.
type RowCounts struct {
	Users, Avatars, Messages, Sessions int64
}

// CountRows counts the rows of every exported table.
func (s *Store) CountRows(ctx context.Context) (RowCounts, error) {
	var c RowCounts
	err := s.reader.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users), (SELECT count(*) FROM avatars),
		(SELECT count(*) FROM messages), (SELECT count(*) FROM sessions)`).
		Scan(&c.Users, &c.Avatars, &c.Messages, &c.Sessions)
	if err != nil {
		return RowCounts{}, fmt.Errorf("sqlite: count rows: %w", err)
	}
	return c, nil
}

// HighestIDs are the highest ids a store ever handed out, deleted rows
// included; a store that takes the data over continues above them, so that
// an id is never reused (a client polling with after=<a deleted newest
// message> must still see the next message).
type HighestIDs struct {
	Users, Messages, Sessions int64
}

// HighestIDs reads the AUTOINCREMENT counters (sqlite_sequence has a row
// only for tables that ever had one).
func (s *Store) HighestIDs(ctx context.Context) (HighestIDs, error) {
	var ids HighestIDs
	err := s.reader.QueryRowContext(ctx, `SELECT
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'users'), 0),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'sessions'), 0)`).
		Scan(&ids.Users, &ids.Messages, &ids.Sessions)
	if err != nil {
		return HighestIDs{}, fmt.Errorf("sqlite: read id counters: %w", err)
	}
	return ids, nil
}

// ExportUsers yields every user in id order, password hash included.
func (s *Store) ExportUsers(ctx context.Context) iter.Seq2[chat.User, error] {
	return exportRows(ctx, s.reader, "users",
		`SELECT id, login, password_hash, created FROM users ORDER BY id`,
		func(rows *sql.Rows) (chat.User, error) {
			var u chat.User
			var created int64
			err := rows.Scan(&u.ID, &u.Login, &u.PasswordHash, &created)
			u.Created = time.Unix(created, 0).UTC()
			return u, err
		})
}

// ExportAvatars yields every avatar in user id order.
func (s *Store) ExportAvatars(ctx context.Context) iter.Seq2[chat.Avatar, error] {
	return exportRows(ctx, s.reader, "avatars",
		`SELECT user_id, content_type, data, etag FROM avatars ORDER BY user_id`,
		func(rows *sql.Rows) (chat.Avatar, error) {
			var a chat.Avatar
			err := rows.Scan(&a.UserID, &a.ContentType, &a.Data, &a.ETag)
			return a, err
		})
}

// ExportMessages yields every message in id order, as the API shows it.
func (s *Store) ExportMessages(ctx context.Context) iter.Seq2[chat.Message, error] {
	return exportRows(ctx, s.reader, "messages",
		`SELECT m.id, m.text, m.user_id, u.login, m.created, m.updated
		FROM messages m JOIN users u ON u.id = m.user_id ORDER BY m.id`,
		func(rows *sql.Rows) (chat.Message, error) {
			var m chat.Message
			var updated sql.NullInt64
			err := rows.Scan(&m.ID, &m.Text, &m.UserID, &m.Username, &m.TimeCreated, &updated)
			if updated.Valid {
				m.TimeUpdated = &updated.Int64
			}
			return m, err
		})
}

// ExportSessions yields every session in id order; only token hashes exist,
// so the export holds no usable token either.
func (s *Store) ExportSessions(ctx context.Context) iter.Seq2[chat.Session, error] {
	return exportRows(ctx, s.reader, "sessions",
		`SELECT s.id, s.user_id, u.login, s.token_hash, s.created, s.last_seen
		FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY s.id`,
		func(rows *sql.Rows) (chat.Session, error) {
			var sess chat.Session
			var created, lastSeen int64
			err := rows.Scan(&sess.ID, &sess.UserID, &sess.Username, &sess.TokenHash, &created, &lastSeen)
			sess.Created, sess.LastSeen = time.Unix(created, 0).UTC(), time.Unix(lastSeen, 0).UTC()
			return sess, err
		})
}

// exportRows yields the rows of query, scanned by scan, and then a final
// error if the query failed; the loop may stop early. Rows stream from one
// cursor, so memory stays flat however large the table.
func exportRows[T any](ctx context.Context, db *sql.DB, table, query string, scan func(*sql.Rows) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			yield(zero, fmt.Errorf("sqlite: export %s: %w", table, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				yield(zero, fmt.Errorf("sqlite: export %s: %w", table, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, fmt.Errorf("sqlite: export %s: %w", table, err))
		}
	}
}

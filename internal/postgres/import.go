package postgres

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// This file is the writing side of `chatd migrate-data`. Rows keep their
// ids and times; ON CONFLICT DO NOTHING makes a second run (after an
// interruption, say) skip what the first one moved. Run it before any
// instance serves from this database: imported rows get no events, and a
// message inserted below a live reader's cursor would not reach it.

// importBatch is how many rows travel in one round trip and one transaction.
const importBatch = 500

// RowCounts are the numbers of rows migrate-data compares after a move.
type RowCounts struct {
	Users, Avatars, Messages, Sessions int64
}

// CountRows counts users, avatars, messages and sessions.
func (s *Store) CountRows(ctx context.Context) (RowCounts, error) {
	var c RowCounts
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM users), (SELECT count(*) FROM avatars),
			(SELECT count(*) FROM messages), (SELECT count(*) FROM sessions)`).
			Scan(&c.Users, &c.Avatars, &c.Messages, &c.Sessions)
	})
	if err != nil {
		return RowCounts{}, fmt.Errorf("postgres: count rows: %w", err)
	}
	return c, nil
}

// Each import statement inserts one row unless a row with its key is
// there, and answers two things: whether it inserted, and whether the row
// now in the table is the same one (same id and natural key). A rerun finds
// its own rows; a row that is neither inserted nor the same means the target
// held other data under that id, and mixing the two would attach avatars or
// messages to the wrong user, so the import stops.
const (
	importUserSQL = `WITH ins AS (
			INSERT INTO users (id, login, login_key, password_hash, created) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM users WHERE id = $1 AND login_key = $3)`
	importAvatarSQL = `WITH ins AS (
			INSERT INTO avatars (user_id, content_type, data, etag) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM avatars WHERE user_id = $1)`
	importMessageSQL = `WITH ins AS (
			INSERT INTO messages (id, user_id, text, time_created, time_updated) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins),
			EXISTS (SELECT 1 FROM messages WHERE id = $1 AND user_id = $2 AND time_created = $4)`
	importSessionSQL = `WITH ins AS (
			INSERT INTO sessions (id, user_id, token_hash, created, last_seen) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND token_hash = $3)`
)

// ImportUsers inserts users with their ids, password hashes and login keys
// (folded by chat.FoldLogin). It returns how many it inserted.
func (s *Store) ImportUsers(ctx context.Context, users iter.Seq2[chat.User, error]) (int64, error) {
	return importRows(ctx, s, "users", users, importUserSQL, func(u chat.User) (int64, []any) {
		return u.ID, []any{u.ID, u.Login, chat.FoldLogin(u.Login), u.PasswordHash, u.Created}
	})
}

// ImportAvatars inserts avatars, keeping one a user has already.
func (s *Store) ImportAvatars(ctx context.Context, avatars iter.Seq2[chat.Avatar, error]) (int64, error) {
	return importRows(ctx, s, "avatars", avatars, importAvatarSQL, func(a chat.Avatar) (int64, []any) {
		return a.UserID, []any{a.UserID, a.ContentType, a.Data, a.ETag}
	})
}

// ImportMessages inserts messages with their ids and times. Username is
// ignored: it comes from the user.
func (s *Store) ImportMessages(ctx context.Context, msgs iter.Seq2[chat.Message, error]) (int64, error) {
	return importRows(ctx, s, "messages", msgs, importMessageSQL, func(m chat.Message) (int64, []any) {
		var updated *time.Time
		if m.TimeUpdated != nil {
			t := time.Unix(*m.TimeUpdated, 0)
			updated = &t
		}
		return m.ID, []any{m.ID, m.UserID, m.Text, time.Unix(m.TimeCreated, 0), updated}
	})
}

// ImportSessions inserts sessions with their ids and token hashes, so that
// logged-in clients stay logged in.
func (s *Store) ImportSessions(ctx context.Context, sessions iter.Seq2[chat.Session, error]) (int64, error) {
	return importRows(ctx, s, "sessions", sessions, importSessionSQL, func(sess chat.Session) (int64, []any) {
		return sess.ID, []any{sess.ID, sess.UserID, sess.TokenHash, sess.Created, sess.LastSeen}
	})
}

// importRows runs sql for every row, in batches of one round trip and one
// transaction each, and then moves the table's id sequence past the
// highest id. args returns a row's id (for errors) and the statement's
// arguments.
func importRows[T any](ctx context.Context, s *Store, table string, rows iter.Seq2[T, error], sql string, args func(T) (int64, []any)) (int64, error) {
	var inserted int64
	var ids []int64
	b := &pgx.Batch{}
	flush := func() error {
		n, err := s.sendImportBatch(ctx, b, ids)
		inserted += n
		b, ids = &pgx.Batch{}, ids[:0]
		if err != nil {
			return fmt.Errorf("postgres: import %s: %w", table, err)
		}
		return nil
	}
	for row, err := range rows {
		if err != nil {
			return inserted, err
		}
		id, a := args(row)
		b.Queue(sql, a...)
		if ids = append(ids, id); b.Len() >= importBatch {
			if err := flush(); err != nil {
				return inserted, err
			}
		}
	}
	if err := flush(); err != nil {
		return inserted, err
	}
	if table != "avatars" { // avatars are keyed by user id: no sequence
		if err := s.advanceSequence(ctx, table, 0); err != nil {
			return inserted, err
		}
	}
	return inserted, nil
}

// sendImportBatch runs b in one transaction and returns how many rows it
// inserted; ids[i] names the row of the i-th statement.
func (s *Store) sendImportBatch(ctx context.Context, b *pgx.Batch, ids []int64) (int64, error) {
	if b.Len() == 0 {
		return 0, nil
	}
	var inserted int64
	err := s.write(ctx, false, func(tx pgx.Tx) error {
		results := tx.SendBatch(ctx, b)
		defer results.Close()
		for _, id := range ids {
			var ins, same bool
			if err := results.QueryRow().Scan(&ins, &same); err != nil {
				return err
			}
			if !ins && !same {
				return fmt.Errorf("id %d is taken by a different row in the target", id)
			}
			if ins {
				inserted++
			}
		}
		return results.Close()
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}

// HighestIDs are the highest ids the source store ever handed out, deleted
// rows included.
type HighestIDs struct {
	Users, Messages, Sessions int64
}

// AdvanceIDs moves the id sequences so that new rows get ids above ids (and
// above every present row), never a lower one: a client that saw a deleted
// newest message's id must still see the next message.
func (s *Store) AdvanceIDs(ctx context.Context, ids HighestIDs) error {
	for table, floor := range map[string]int64{"users": ids.Users, "messages": ids.Messages, "sessions": ids.Sessions} {
		if err := s.advanceSequence(ctx, table, floor); err != nil {
			return err
		}
	}
	return nil
}

// advanceSequence moves table's id sequence to at least the highest id
// present and at least floor; it never moves it back. table is one of the
// constant names above, never input.
func (s *Store) advanceSequence(ctx context.Context, table string, floor int64) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, `SELECT setval(seq, target) FROM (
				SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq,
				       greatest((SELECT max(id) FROM `+pgx.Identifier{table}.Sanitize()+`), $2) AS target) x
			WHERE target > coalesce(pg_sequence_last_value(seq), 0)`, table, floor)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: advance %s ids: %w", table, err)
	}
	return nil
}

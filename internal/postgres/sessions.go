package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// sessionColumns are what scanSession reads, from sessions s joined with
// users u.
const sessionColumns = "s.id, s.user_id, u.login, s.token_hash, s.created, s.last_seen"

func scanSession(row pgx.Row) (chat.Session, error) {
	var sess chat.Session
	err := row.Scan(&sess.ID, &sess.UserID, &sess.Username, &sess.TokenHash, &sess.Created, &sess.LastSeen)
	return sess, noRows(err)
}

// CreateSession stores a new session whose LastSeen is now. It returns
// chat.ErrNotFound when the user does not exist.
func (s *Store) CreateSession(ctx context.Context, userID int64, tokenHash []byte, now time.Time) (chat.Session, error) {
	var sess chat.Session
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var err error
		sess, err = scanSession(conn.QueryRow(ctx, `WITH s AS (
				INSERT INTO sessions (user_id, token_hash, created, last_seen) VALUES ($1, $2, $3, $3)
				RETURNING *)
			SELECT `+sessionColumns+` FROM s JOIN users u ON u.id = s.user_id`,
			userID, tokenHash, now))
		if isForeignKeyViolation(err) {
			return chat.ErrNotFound
		}
		return err
	})
	if err != nil {
		return chat.Session{}, fmt.Errorf("postgres: create session of user %d: %w", userID, err)
	}
	return sess, nil
}

// SessionByTokenHash returns the session with that token hash, or chat.ErrNotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte) (chat.Session, error) {
	sess, err := s.sessionWhere(ctx, "s.token_hash = $1", tokenHash)
	if err != nil {
		return chat.Session{}, fmt.Errorf("postgres: session by token: %w", err)
	}
	return sess, nil
}

// SessionByID returns the session with id, or chat.ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id int64) (chat.Session, error) {
	sess, err := s.sessionWhere(ctx, "s.id = $1", id)
	if err != nil {
		return chat.Session{}, fmt.Errorf("postgres: session %d: %w", id, err)
	}
	return sess, nil
}

func (s *Store) sessionWhere(ctx context.Context, cond string, arg any) (chat.Session, error) {
	var sess chat.Session
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var err error
		sess, err = scanSession(conn.QueryRow(ctx,
			"SELECT "+sessionColumns+" FROM sessions s JOIN users u ON u.id = s.user_id WHERE "+cond, arg))
		return err
	})
	return sess, err
}

// TouchSession sets the session's LastSeen to now. A session deleted
// meanwhile is not an error: there is nothing left to keep alive.
func (s *Store) TouchSession(ctx context.Context, id int64, now time.Time) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, "UPDATE sessions SET last_seen = $2 WHERE id = $1", id, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: touch session %d: %w", id, err)
	}
	return nil
}

// DeleteSession deletes one session and appends a sessions.revoked event
// naming it. It returns chat.ErrNotFound when the session is already gone.
func (s *Store) DeleteSession(ctx context.Context, id int64, now time.Time) error {
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, "DELETE FROM sessions WHERE id = $1 RETURNING user_id", id).Scan(&userID)
		if err != nil {
			return noRows(err)
		}
		return s.appendEvent(ctx, tx, chat.EventSessionsRevoked,
			chat.SessionsRevokedData{UserID: userID, SessionIDs: []int64{id}}, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: delete session %d: %w", id, err)
	}
	return nil
}

// DeleteUserSessions deletes every session of the user and appends one
// sessions.revoked event naming them all; with no session, nothing happens.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, now time.Time) error {
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, "DELETE FROM sessions WHERE user_id = $1 RETURNING id", userID)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return err
		}
		slices.Sort(ids)
		return s.appendEvent(ctx, tx, chat.EventSessionsRevoked,
			chat.SessionsRevokedData{UserID: userID, SessionIDs: ids}, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// CreateTicket stores a single-use event-stream ticket for the session. It
// returns chat.ErrNotFound when the session does not exist.
func (s *Store) CreateTicket(ctx context.Context, sessionID int64, ticketHash []byte, expires time.Time) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, "INSERT INTO tickets (hash, session_id, expires) VALUES ($1, $2, $3)",
			ticketHash, sessionID, expires)
		if isForeignKeyViolation(err) {
			return chat.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create ticket for session %d: %w", sessionID, err)
	}
	return nil
}

// RedeemTicket deletes the ticket and returns its session when the ticket
// existed and expires after now; otherwise chat.ErrNotFound. One statement
// both spends and checks it, so two instances redeeming the same ticket at
// once cannot both succeed.
func (s *Store) RedeemTicket(ctx context.Context, ticketHash []byte, now time.Time) (chat.Session, error) {
	var sess chat.Session
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		var err error
		sess, err = scanSession(conn.QueryRow(ctx, `WITH t AS (
				DELETE FROM tickets WHERE hash = $1 RETURNING session_id, expires)
			SELECT `+sessionColumns+` FROM t
			JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
			WHERE t.expires > $2`, ticketHash, now))
		return err
	})
	if err != nil {
		return chat.Session{}, fmt.Errorf("postgres: redeem ticket: %w", err)
	}
	return sess, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"chatd/internal/chat"
)

// CreateSession stores a new session whose LastSeen is now.
func (s *Store) CreateSession(ctx context.Context, userID int64, tokenHash []byte, now time.Time) (chat.Session, error) {
	sess := chat.Session{UserID: userID, TokenHash: tokenHash, Created: fromUnix(unix(now)), LastSeen: fromUnix(unix(now))}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		return tx.QueryRowContext(ctx, `INSERT INTO sessions (user_id, token_hash, created, last_seen)
			VALUES (?, ?, ?, ?) RETURNING id`, userID, tokenHash, unix(now), unix(now)).Scan(&sess.ID)
	})
	if err != nil {
		return chat.Session{}, fmt.Errorf("sqlite: create session for user %d: %w", userID, err)
	}
	return sess, nil
}

const sessionSelect = `SELECT s.id, s.user_id, u.login, s.token_hash, s.created, s.last_seen
	FROM sessions s JOIN users u ON u.id = s.user_id`

// sessionByTokenSQL is the read of every authenticated request, prepared
// once on the read pool (see Store.sessionByToken).
const sessionByTokenSQL = sessionSelect + ` WHERE s.token_hash = ?`

// scanSession reads one row of sessionSelect.
func scanSession(row *sql.Row) (chat.Session, error) {
	var sess chat.Session
	var created, lastSeen int64
	err := row.Scan(&sess.ID, &sess.UserID, &sess.Username, &sess.TokenHash, &created, &lastSeen)
	if err != nil {
		return chat.Session{}, notFound(err)
	}
	sess.Created, sess.LastSeen = fromUnix(created), fromUnix(lastSeen)
	return sess, nil
}

// SessionByTokenHash returns the session with that token hash, or chat.ErrNotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte) (chat.Session, error) {
	sess, err := scanSession(s.sessionByToken.QueryRowContext(ctx, tokenHash))
	if err != nil {
		return chat.Session{}, fmt.Errorf("sqlite: session by token: %w", err)
	}
	return sess, nil
}

// SessionByID returns the session with id, or chat.ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id int64) (chat.Session, error) {
	sess, err := scanSession(s.reader.QueryRowContext(ctx, sessionSelect+` WHERE s.id = ?`, id))
	if err != nil {
		return chat.Session{}, fmt.Errorf("sqlite: session %d: %w", id, err)
	}
	return sess, nil
}

// TouchSession sets the session's LastSeen to now.
func (s *Store) TouchSession(ctx context.Context, id int64, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, unix(now), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: touch session %d: %w", id, err)
	}
	return nil
}

// DeleteSession deletes one session and appends a sessions.revoked event.
func (s *Store) DeleteSession(ctx context.Context, id int64, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id = ? RETURNING user_id`, id).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		return tx.appendEvent(ctx, chat.EventSessionsRevoked,
			chat.SessionsRevokedData{UserID: userID, SessionIDs: []int64{id}}, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session %d: %w", id, err)
	}
	return nil
}

// DeleteUserSessions deletes every session of the user and appends one
// sessions.revoked event naming them; with no sessions it changes nothing.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		ids, err := queryIDs(ctx, tx, `DELETE FROM sessions WHERE user_id = ? RETURNING id`, userID)
		if err != nil || len(ids) == 0 {
			return err
		}
		return tx.appendEvent(ctx, chat.EventSessionsRevoked,
			chat.SessionsRevokedData{UserID: userID, SessionIDs: ids}, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// queryIDs runs a statement returning one integer column and collects it.
func queryIDs(ctx context.Context, tx *txn, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CreateTicket stores a single-use event-stream ticket for the session.
func (s *Store) CreateTicket(ctx context.Context, sessionID int64, ticketHash []byte, expires time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tickets (hash, session_id, expires) VALUES (?, ?, ?)`,
			ticketHash, sessionID, unix(expires))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create ticket for session %d: %w", sessionID, err)
	}
	return nil
}

// RedeemTicket deletes the ticket and returns its session when the ticket
// had not expired at now (now is before its expiry), or chat.ErrNotFound.
func (s *Store) RedeemTicket(ctx context.Context, ticketHash []byte, now time.Time) (chat.Session, error) {
	var sess chat.Session
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var sessionID, expires int64
		err := tx.QueryRowContext(ctx, `DELETE FROM tickets WHERE hash = ? RETURNING session_id, expires`, ticketHash).
			Scan(&sessionID, &expires)
		if err != nil {
			return notFound(err)
		}
		if unix(now) >= expires {
			return chat.ErrNotFound
		}
		sess, err = scanSession(tx.QueryRowContext(ctx, sessionSelect+` WHERE s.id = ?`, sessionID))
		return err
	})
	if err != nil {
		return chat.Session{}, fmt.Errorf("sqlite: redeem ticket: %w", err)
	}
	return sess, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// CreateUser creates a user, and its avatar when u.Avatar is set, in one
// transaction. It returns chat.ErrLoginTaken when u.LoginKey is taken.
func (s *Store) CreateUser(ctx context.Context, u chat.NewUser) (chat.User, error) {
	user := chat.User{Login: u.Login, PasswordHash: u.PasswordHash, Created: u.Created}
	err := s.write(ctx, false, func(tx pgx.Tx) error {
		// ON CONFLICT DO NOTHING waits for a concurrent insert of the same
		// key to commit and then inserts nothing, so of racing registrations
		// exactly one wins and the rest see no row, without an aborted
		// transaction.
		err := tx.QueryRow(ctx, `INSERT INTO users (login, login_key, password_hash, created)
			VALUES ($1, $2, $3, $4) ON CONFLICT (login_key) DO NOTHING
			RETURNING id, created`,
			u.Login, u.LoginKey, u.PasswordHash, u.Created).Scan(&user.ID, &user.Created)
		if errors.Is(err, pgx.ErrNoRows) {
			return chat.ErrLoginTaken
		}
		if err != nil || u.Avatar == nil {
			return err
		}
		return putAvatar(ctx, tx, user.ID, u.Avatar)
	})
	if err != nil {
		return chat.User{}, fmt.Errorf("postgres: create user: %w", err)
	}
	return user, nil
}

const selectUser = "SELECT id, login, password_hash, created FROM users "

// UserByLoginKey returns the user whose folded login is key, or chat.ErrNotFound.
func (s *Store) UserByLoginKey(ctx context.Context, key string) (chat.User, error) {
	u, err := s.userWhere(ctx, selectUser+"WHERE login_key = $1", key)
	if err != nil {
		return chat.User{}, fmt.Errorf("postgres: user by login key: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id, or chat.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (chat.User, error) {
	u, err := s.userWhere(ctx, selectUser+"WHERE id = $1", id)
	if err != nil {
		return chat.User{}, fmt.Errorf("postgres: user %d: %w", id, err)
	}
	return u, nil
}

func (s *Store) userWhere(ctx context.Context, query string, arg any) (chat.User, error) {
	var u chat.User
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		return noRows(conn.QueryRow(ctx, query, arg).Scan(&u.ID, &u.Login, &u.PasswordHash, &u.Created))
	})
	return u, err
}

// AvatarByUserID returns the user's avatar, or chat.ErrNotFound when the
// user has none or does not exist.
func (s *Store) AvatarByUserID(ctx context.Context, userID int64) (chat.Avatar, error) {
	a := chat.Avatar{UserID: userID}
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		return noRows(conn.QueryRow(ctx, "SELECT content_type, data, etag FROM avatars WHERE user_id = $1",
			userID).Scan(&a.ContentType, &a.Data, &a.ETag))
	})
	if err != nil {
		return chat.Avatar{}, fmt.Errorf("postgres: avatar of user %d: %w", userID, err)
	}
	return a, nil
}

// SetAvatar replaces the user's avatar, or removes it when a is nil, and
// appends a user.updated event. It returns chat.ErrNotFound when the user
// does not exist.
func (s *Store) SetAvatar(ctx context.Context, userID int64, a *chat.Avatar, now time.Time) error {
	err := s.write(ctx, true, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", userID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return chat.ErrNotFound
		}
		if a == nil {
			if _, err := tx.Exec(ctx, "DELETE FROM avatars WHERE user_id = $1", userID); err != nil {
				return err
			}
		} else if err := putAvatar(ctx, tx, userID, a); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, chat.EventUserUpdated, chat.UserUpdatedData{UserID: userID}, now)
	})
	if err != nil {
		return fmt.Errorf("postgres: set avatar of user %d: %w", userID, err)
	}
	return nil
}

// putAvatar inserts or replaces a user's avatar.
func putAvatar(ctx context.Context, tx pgx.Tx, userID int64, a *chat.Avatar) error {
	_, err := tx.Exec(ctx, `INSERT INTO avatars (user_id, content_type, data, etag) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE
		SET content_type = excluded.content_type, data = excluded.data, etag = excluded.etag`,
		userID, a.ContentType, a.Data, a.ETag)
	if err != nil {
		return fmt.Errorf("store avatar: %w", err)
	}
	return nil
}

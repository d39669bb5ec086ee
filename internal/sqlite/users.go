package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"chatd/internal/chat"
)

// CreateUser creates a user and, when given, its avatar in one transaction.
func (s *Store) CreateUser(ctx context.Context, nu chat.NewUser) (chat.User, error) {
	u := chat.User{Login: nu.Login, PasswordHash: nu.PasswordHash, Created: fromUnix(unix(nu.Created))}
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		err := tx.QueryRowContext(ctx,
			`INSERT INTO users (login, login_key, password_hash, created) VALUES (?, ?, ?, ?) RETURNING id`,
			nu.Login, nu.LoginKey, nu.PasswordHash, unix(nu.Created)).Scan(&u.ID)
		if isUnique(err) {
			return chat.ErrLoginTaken
		}
		if err != nil || nu.Avatar == nil {
			return err
		}
		return putAvatar(ctx, tx, u.ID, nu.Avatar)
	})
	if err != nil {
		return chat.User{}, fmt.Errorf("sqlite: create user %q: %w", nu.Login, err)
	}
	return u, nil
}

func putAvatar(ctx context.Context, tx *txn, userID int64, a *chat.Avatar) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO avatars (user_id, content_type, data, etag) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, data = excluded.data, etag = excluded.etag`,
		userID, a.ContentType, a.Data, a.ETag)
	if err != nil {
		return fmt.Errorf("store avatar: %w", err)
	}
	return nil
}

const userColumns = `id, login, password_hash, created`

func scanUser(row *sql.Row) (chat.User, error) {
	var u chat.User
	var created int64
	if err := row.Scan(&u.ID, &u.Login, &u.PasswordHash, &created); err != nil {
		return chat.User{}, notFound(err)
	}
	u.Created = fromUnix(created)
	return u, nil
}

// UserByLoginKey returns the user whose folded login is key, or chat.ErrNotFound.
func (s *Store) UserByLoginKey(ctx context.Context, key string) (chat.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE login_key = ?`, key))
	if err != nil {
		return chat.User{}, fmt.Errorf("sqlite: user by login key: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id, or chat.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (chat.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return chat.User{}, fmt.Errorf("sqlite: user %d: %w", id, err)
	}
	return u, nil
}

// AvatarByUserID returns the user's avatar, or chat.ErrNotFound.
func (s *Store) AvatarByUserID(ctx context.Context, userID int64) (chat.Avatar, error) {
	a := chat.Avatar{UserID: userID}
	err := s.reader.QueryRowContext(ctx, `SELECT content_type, data, etag FROM avatars WHERE user_id = ?`, userID).
		Scan(&a.ContentType, &a.Data, &a.ETag)
	if err != nil {
		return chat.Avatar{}, fmt.Errorf("sqlite: avatar of user %d: %w", userID, notFound(err))
	}
	return a, nil
}

// SetAvatar replaces or (a nil) removes the user's avatar and appends a
// user.updated event.
func (s *Store) SetAvatar(ctx context.Context, userID int64, a *chat.Avatar, now time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
		if err != nil {
			return notFound(err)
		}
		if a != nil {
			err = putAvatar(ctx, tx, userID, a)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM avatars WHERE user_id = ?`, userID)
		}
		if err != nil {
			return err
		}
		return tx.appendEvent(ctx, chat.EventUserUpdated, chat.UserUpdatedData{UserID: userID}, now)
	})
	if err != nil {
		return fmt.Errorf("sqlite: set avatar of user %d: %w", userID, err)
	}
	return nil
}

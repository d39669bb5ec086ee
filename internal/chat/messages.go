package chat

import (
	"context"
	"fmt"
)

// Message returns the message with id, or ErrNotFound.
func (s *Service) Message(ctx context.Context, id int64) (Message, error) {
	m, err := s.store.MessageByID(ctx, id)
	if err != nil {
		return Message{}, fmt.Errorf("load message %d: %w", id, err)
	}
	return m, nil
}

// Messages returns the messages q selects, in ascending id order.
func (s *Service) Messages(ctx context.Context, q MessageQuery) ([]Message, error) {
	msgs, err := s.store.ListMessages(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return msgs, nil
}

// PostMessage stores a message by the session's user. A non-empty
// idempotencyKey makes a retried post return the first message.
func (s *Service) PostMessage(ctx context.Context, sess Session, text, idempotencyKey string) (Message, error) {
	v := ValidateMessageText(text)
	if idempotencyKey != "" {
		v.Merge(ValidateIdempotencyKey(idempotencyKey))
	}
	if err := v.Err(); err != nil {
		return Message{}, err
	}
	m, err := s.store.CreateMessage(ctx, NewMessage{
		UserID: sess.UserID, Text: text, IdempotencyKey: idempotencyKey, Created: s.now(),
	})
	if err != nil {
		return Message{}, fmt.Errorf("create message by user %d: %w", sess.UserID, err)
	}
	return m, nil
}

// EditMessage replaces the text of the session user's own message. The checks
// run in the contract's order: ErrNotFound, ErrNotAuthor, then validation.
func (s *Service) EditMessage(ctx context.Context, sess Session, id int64, text string) (Message, error) {
	if err := s.CheckAuthor(ctx, sess, id); err != nil {
		return Message{}, err
	}
	if err := ValidateMessageText(text).Err(); err != nil {
		return Message{}, err
	}
	m, err := s.store.UpdateMessage(ctx, id, text, s.now())
	if err != nil {
		return Message{}, fmt.Errorf("update message %d: %w", id, err)
	}
	return m, nil
}

// DeleteMessage deletes the session user's own message and returns it as it was.
func (s *Service) DeleteMessage(ctx context.Context, sess Session, id int64) (Message, error) {
	if err := s.CheckAuthor(ctx, sess, id); err != nil {
		return Message{}, err
	}
	m, err := s.store.DeleteMessage(ctx, id, s.now())
	if err != nil {
		return Message{}, fmt.Errorf("delete message %d: %w", id, err)
	}
	return m, nil
}

// CheckAuthor returns ErrNotFound or ErrNotAuthor unless the session's user
// wrote message id. Authorship never changes, so the check cannot go stale.
func (s *Service) CheckAuthor(ctx context.Context, sess Session, id int64) error {
	m, err := s.store.MessageByID(ctx, id)
	if err != nil {
		return fmt.Errorf("load message %d: %w", id, err)
	}
	if m.UserID != sess.UserID {
		return ErrNotAuthor
	}
	return nil
}

// Avatar returns the avatar of user id, or ErrNotFound when there is none.
func (s *Service) Avatar(ctx context.Context, userID int64) (Avatar, error) {
	a, err := s.store.AvatarByUserID(ctx, userID)
	if err != nil {
		return Avatar{}, fmt.Errorf("load avatar of user %d: %w", userID, err)
	}
	return a, nil
}

// SetAvatar replaces the session user's avatar; image nil means no file was
// sent. It returns ErrNotFound when the user no longer exists.
func (s *Service) SetAvatar(ctx context.Context, sess Session, image []byte) error {
	v := &ValidationError{}
	if image == nil {
		v.Add("image", "is required")
	}
	a, err := s.avatarFrom(ctx, image, v)
	if err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.storeAvatar(ctx, sess.UserID, a)
}

// RemoveAvatar deletes the session user's avatar.
func (s *Service) RemoveAvatar(ctx context.Context, sess Session) error {
	return s.storeAvatar(ctx, sess.UserID, nil)
}

func (s *Service) storeAvatar(ctx context.Context, userID int64, a *Avatar) error {
	if err := s.store.SetAvatar(ctx, userID, a, s.now()); err != nil {
		return fmt.Errorf("set avatar of user %d: %w", userID, err)
	}
	return nil
}

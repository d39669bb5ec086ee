package chat

import (
	"context"
	"errors"
	"fmt"
)

// LoginResult is what a successful login returns.
type LoginResult struct {
	Token   string
	Session Session
}

// Login checks the credentials and opens a new session. clientAddr keys the
// per-address throttle. Unknown logins and wrong passwords both return
// ErrBadCredentials after the same amount of hashing work.
func (s *Service) Login(ctx context.Context, login, password, clientAddr string) (LoginResult, error) {
	login = NormalizeLogin(login)
	v := ValidateLoginLength(login)
	v.Merge(ValidatePassword(password, PasswordMinLen))
	if err := v.Err(); err != nil {
		return LoginResult{}, err
	}
	key := FoldLogin(login)
	throttle := s.throttleKeys(key, clientAddr)
	if err := s.checkThrottle(ctx, throttle); err != nil {
		return LoginResult{}, err
	}
	u, err := s.verify(ctx, key, password)
	if errors.Is(err, ErrBadCredentials) {
		if rerr := s.recordFailure(ctx, throttle); rerr != nil {
			return LoginResult{}, rerr
		}
	}
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.clearFailures(ctx, throttle[:1]); err != nil {
		return LoginResult{}, err
	}
	return s.openSession(ctx, u)
}

// verify returns the user whose login key and password match.
func (s *Service) verify(ctx context.Context, key, password string) (User, error) {
	u, err := s.store.UserByLoginKey(ctx, key)
	if errors.Is(err, ErrNotFound) {
		if err := s.hasher.VerifyNothing(ctx, password); err != nil {
			return User{}, err
		}
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("load user by login: %w", err)
	}
	ok, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return User{}, fmt.Errorf("verify password of user %d: %w", u.ID, err)
	}
	if !ok {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

func (s *Service) openSession(ctx context.Context, u User) (LoginResult, error) {
	token, hash, err := NewToken()
	if err != nil {
		return LoginResult{}, err
	}
	sess, err := s.store.CreateSession(ctx, u.ID, hash, s.now())
	if err != nil {
		return LoginResult{}, fmt.Errorf("create session for user %d: %w", u.ID, err)
	}
	sess.Username = u.Login
	return LoginResult{Token: token, Session: sess}, nil
}

// Authenticate returns the live session of token, or ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrUnauthenticated
	}
	sess, err := s.store.SessionByTokenHash(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Session{}, fmt.Errorf("load session: %w", err)
	}
	return s.keepAlive(ctx, sess)
}

// CheckSession returns the session as it is now, or ErrUnauthenticated when it
// has been revoked or has expired. Long-lived streams call it periodically.
func (s *Service) CheckSession(ctx context.Context, sess Session) (Session, error) {
	cur, err := s.store.SessionByID(ctx, sess.ID)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Session{}, fmt.Errorf("load session %d: %w", sess.ID, err)
	}
	return s.keepAlive(ctx, cur)
}

// keepAlive ends an expired session and refreshes a live one's LastSeen.
func (s *Service) keepAlive(ctx context.Context, sess Session) (Session, error) {
	now := s.now()
	if now.Sub(sess.LastSeen) > s.cfg.SessionIdle {
		err := s.store.DeleteSession(ctx, sess.ID, now)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Session{}, fmt.Errorf("end expired session %d: %w", sess.ID, err)
		}
		return Session{}, ErrUnauthenticated
	}
	if now.Sub(sess.LastSeen) > sessionTouchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return Session{}, fmt.Errorf("touch session %d: %w", sess.ID, err)
		}
		sess.LastSeen = now
	}
	return sess, nil
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, sess Session) error {
	err := s.store.DeleteSession(ctx, sess.ID, s.now())
	if errors.Is(err, ErrNotFound) {
		return ErrUnauthenticated
	}
	if err != nil {
		return fmt.Errorf("delete session %d: %w", sess.ID, err)
	}
	return nil
}

// LogoutAll ends every session of the session's user.
func (s *Service) LogoutAll(ctx context.Context, sess Session) error {
	if err := s.store.DeleteUserSessions(ctx, sess.UserID, s.now()); err != nil {
		return fmt.Errorf("delete sessions of user %d: %w", sess.UserID, err)
	}
	return nil
}

// NewEventTicket returns a single-use credential for opening an event stream
// from a browser, valid for a minute.
func (s *Service) NewEventTicket(ctx context.Context, sess Session) (string, error) {
	ticket, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	if err := s.store.CreateTicket(ctx, sess.ID, hash, s.now().Add(ticketLifetime)); err != nil {
		return "", fmt.Errorf("create ticket for session %d: %w", sess.ID, err)
	}
	return ticket, nil
}

// RedeemEventTicket spends a ticket and returns its live session, or
// ErrUnauthenticated.
func (s *Service) RedeemEventTicket(ctx context.Context, ticket string) (Session, error) {
	if ticket == "" {
		return Session{}, ErrUnauthenticated
	}
	sess, err := s.store.RedeemTicket(ctx, HashToken(ticket), s.now())
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Session{}, fmt.Errorf("redeem ticket: %w", err)
	}
	return s.keepAlive(ctx, sess)
}

package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ImageProcessor checks and re-encodes an uploaded avatar. It returns an
// *ImageError for an image that breaks the rules.
type ImageProcessor func(ctx context.Context, data []byte) (Avatar, error)

// Config holds the service's policies; zero fields take the defaults below.
type Config struct {
	// SessionIdle is how long a session lives without being used.
	SessionIdle time.Duration
	// MinPasswordLen raises the minimum password length above PasswordMinLen.
	MinPasswordLen int
	// Hasher hashes passwords; nil means OWASP parameters, one hash per core.
	Hasher *PasswordHasher
	// ProcessImage checks and re-encodes avatars. Required.
	ProcessImage ImageProcessor
	// LoginLimit throttles failed logins.
	LoginLimit LoginLimit
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultSessionIdle = 30 * 24 * time.Hour
	// sessionTouchEvery bounds how often a busy session's LastSeen is written:
	// idle expiry is measured in days, so an hour of slack costs nothing and
	// saves a write on every request.
	sessionTouchEvery = time.Hour
	ticketLifetime    = 60 * time.Second
)

// Service applies chatd's rules: validation, sessions, ownership and login
// throttling. Handlers call it; it calls the store.
type Service struct {
	store  Store
	cfg    Config
	hasher *PasswordHasher
	now    func() time.Time
}

// NewService returns a service over store with cfg's policies.
func NewService(store Store, cfg Config) (*Service, error) {
	if cfg.ProcessImage == nil {
		return nil, errors.New("chat: Config.ProcessImage is required")
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.MinPasswordLen < PasswordMinLen {
		cfg.MinPasswordLen = PasswordMinLen
	}
	if cfg.Hasher == nil {
		cfg.Hasher = NewPasswordHasher(OWASPArgon2Params, 0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: store, cfg: cfg, hasher: cfg.Hasher, now: cfg.Now}, nil
}

// Register creates a user. image is nil when no file was sent. Every bad
// field is reported in one *ValidationError; a failed registration creates
// nothing.
func (s *Service) Register(ctx context.Context, login, password string, image []byte) (User, error) {
	login = NormalizeLogin(login)
	v := ValidateLogin(login)
	v.Merge(ValidatePassword(password, s.cfg.MinPasswordLen))
	avatar, err := s.avatarFrom(ctx, image, v)
	if err != nil {
		return User{}, err
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	u, err := s.store.CreateUser(ctx, NewUser{
		Login: login, LoginKey: FoldLogin(login), PasswordHash: hash, Avatar: avatar, Created: s.now(),
	})
	if errors.Is(err, ErrLoginTaken) {
		return User{}, fieldError("login", "is already taken")
	}
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", login, err)
	}
	return u, nil
}

// avatarFrom runs the image processor over an uploaded file, adding its
// problems to v. It returns nil for no file or a bad one; an error only for a
// failure that is not the client's.
func (s *Service) avatarFrom(ctx context.Context, image []byte, v *ValidationError) (*Avatar, error) {
	if image == nil {
		return nil, nil
	}
	a, err := s.cfg.ProcessImage(ctx, image)
	var bad *ImageError
	if errors.As(err, &bad) {
		v.Add("image", bad.Reason)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("process image: %w", err)
	}
	return &a, nil
}

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

// Retention of the event log and of idempotency keys (API.md: resume works
// across at least the last 10,000 events or 24 hours; keys live 24 hours).
const (
	KeepEvents     = 10000
	KeepEventsFor  = 24 * time.Hour
	IdempotencyFor = 24 * time.Hour
)

// Cleanup deletes expired sessions (revoking their streams), tickets, login
// failures, idempotency keys and events past their retention.
func (s *Service) Cleanup(ctx context.Context) error {
	window := s.cfg.LoginLimit.Window
	if window <= 0 {
		window = DefaultLoginLimit.Window
	}
	err := s.store.Cleanup(ctx, CleanupPolicy{
		Now:            s.now(),
		SessionIdle:    s.cfg.SessionIdle,
		KeepEvents:     KeepEvents,
		KeepEventsFor:  KeepEventsFor,
		IdempotencyFor: IdempotencyFor,
		LoginWindow:    window,
	})
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}

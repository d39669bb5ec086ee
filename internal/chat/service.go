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
		cfg.Hasher = NewPasswordHasher(OWASPArgon2Params(), 0)
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
		window = DefaultLoginLimit().Window
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

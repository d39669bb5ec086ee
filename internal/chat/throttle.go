package chat

import (
	"context"
	"fmt"
	"time"
)

// LoginLimit is the brute-force policy: after PerLogin failures for one login
// or PerAddress failures from one client address within Window, further
// attempts are refused until the oldest failure leaves the window.
type LoginLimit struct {
	Enabled    bool
	PerLogin   int
	PerAddress int
	Window     time.Duration
}

// DefaultLoginLimit is generous enough for a human who mistypes.
func DefaultLoginLimit() LoginLimit {
	return LoginLimit{Enabled: true, PerLogin: 10, PerAddress: 100, Window: 15 * time.Minute}
}

type throttleKey struct {
	key   string
	limit int
	// failures is what checkThrottle counted in the window, so that a
	// successful login writes nothing when there is nothing to forget.
	failures int
}

// throttleKeys returns the counters a login attempt is charged to, the
// login's first.
func (s *Service) throttleKeys(loginKey, clientAddr string) []throttleKey {
	keys := []throttleKey{{key: "login:" + loginKey, limit: s.cfg.LoginLimit.PerLogin}}
	if clientAddr != "" {
		keys = append(keys, throttleKey{key: "addr:" + clientAddr, limit: s.cfg.LoginLimit.PerAddress})
	}
	return keys
}

// checkThrottle returns a *RateLimitedError when any counter is full.
func (s *Service) checkThrottle(ctx context.Context, keys []throttleKey) error {
	if !s.cfg.LoginLimit.Enabled {
		return nil
	}
	now := s.now()
	window := s.cfg.LoginLimit.Window
	for i, k := range keys {
		n, earliest, err := s.store.LoginFailures(ctx, k.key, now.Add(-window))
		if err != nil {
			return fmt.Errorf("count login failures: %w", err)
		}
		keys[i].failures = n
		if n >= k.limit {
			wait := earliest.Add(window).Sub(now)
			return &RateLimitedError{RetryAfter: max(wait, time.Second)}
		}
	}
	return nil
}

func (s *Service) recordFailure(ctx context.Context, keys []throttleKey) error {
	if !s.cfg.LoginLimit.Enabled {
		return nil
	}
	now := s.now()
	for _, k := range keys {
		if err := s.store.RecordLoginFailure(ctx, k.key, now); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
	}
	return nil
}

func (s *Service) clearFailures(ctx context.Context, keys []throttleKey) error {
	if !s.cfg.LoginLimit.Enabled {
		return nil
	}
	for _, k := range keys {
		if k.failures == 0 {
			continue
		}
		if err := s.store.ClearLoginFailures(ctx, k.key); err != nil {
			return fmt.Errorf("clear login failures: %w", err)
		}
	}
	return nil
}

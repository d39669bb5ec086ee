package postgres

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/pgtest"
)

// TestOutageAndRecovery cuts the store off from the server: calls must fail
// fast with ErrUnavailable, and once the server is back the same Store works
// again and its listener, having reconnected, signals once because
// notifications may have been missed.
func TestOutageAndRecovery(t *testing.T) {
	t.Parallel()
	direct := pgtest.SchemaURL(t)
	u, err := url.Parse(direct)
	if err != nil || u.Host == "" || u.Port() == "" {
		t.Skip("CHATD_TEST_POSTGRES has no host:port; the outage test needs TCP")
	}
	p := pgtest.StartProxy(t, u.Host)
	u.Host = p.Addr()
	s, err := Open(t.Context(), u.String(), Options{AcquireTimeout: 2 * time.Second, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	user := mustUser(t, s, "outage")

	p.Down()
	drain(s.EventSignal())
	for _, call := range []struct {
		name string
		run  func() error
	}{
		{"Ping", func() error { return s.Ping(t.Context()) }},
		{"UserByID", func() error { _, err := s.UserByID(t.Context(), user.ID); return err }},
		{"CreateMessage", func() error {
			_, err := s.CreateMessage(t.Context(), chat.NewMessage{UserID: user.ID, Text: "x", Created: time.Unix(1, 0)})
			return err
		}},
	} {
		start := time.Now()
		err := call.run()
		if !errors.Is(err, chat.ErrUnavailable) {
			t.Errorf("%s while the server is down: got %v, want ErrUnavailable", call.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s while the server is down took %v, want a quick answer", call.name, d)
		}
	}

	p.Up()
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(t.Context()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Ping still failing 10s after the server came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.UserByID(t.Context(), user.ID); err != nil {
		t.Errorf("UserByID after the server came back: %v", err)
	}
	select {
	case <-s.EventSignal():
	case <-time.After(10 * time.Second):
		t.Error("EventSignal: no value within 10s of the server coming back")
	}
}

package postgres

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"chatd/internal/chat"
	"chatd/internal/pgtest"
)

// proxy forwards TCP connections to the test server and can cut them all,
// standing in for a PostgreSQL that goes down and comes back (the real
// server is shared with other tests and stays up).
type proxy struct {
	t        *testing.T
	addr     string // where the proxy listens
	upstream string

	mu    sync.Mutex
	l     net.Listener
	conns []net.Conn
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	p := &proxy{t: t, addr: "127.0.0.1:0", upstream: upstream}
	p.up()
	p.addr = p.l.Addr().String()
	t.Cleanup(p.down)
	return p
}

// up starts accepting on p.addr.
func (p *proxy) up() {
	p.t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go p.accept(l)
}

func (p *proxy) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

// down stops listening and cuts every forwarded connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

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
	p := startProxy(t, u.Host)
	u.Host = p.addr
	s, err := Open(t.Context(), u.String(), Options{AcquireTimeout: 2 * time.Second, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	user := mustUser(t, s, "outage")

	p.down()
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

	p.up()
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

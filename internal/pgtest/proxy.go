package pgtest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections to an upstream address and can be cut and
// restored on the same port: PostgreSQL going away and coming back, as seen
// by the clients behind it, while the real server, shared with other tests,
// stays up.
type Proxy struct {
	t        testing.TB
	addr     string
	upstream string

	mu    sync.Mutex
	l     net.Listener // nil while down
	conns []net.Conn
}

// StartProxy starts a proxy on a free loopback port, stopped when the test
// ends.
func StartProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, addr: "127.0.0.1:0", upstream: upstream}
	p.Up()
	p.addr = p.l.Addr().String()
	t.Cleanup(p.Down)
	return p
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.addr }

// Up starts accepting again on the same address.
func (p *Proxy) Up() {
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

func (p *Proxy) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		u, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.l != l {
			// Cut while dialing: this connection must not outlive the cut.
			p.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

// Down stops listening and cuts every forwarded connection.
func (p *Proxy) Down() {
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

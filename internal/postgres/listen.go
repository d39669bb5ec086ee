package postgres

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnect backoff of the event listener.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// keepAliveDialer detects a silently dead server (a host that vanished
// without closing its sockets) within about a minute instead of the
// kernel's default of hours, so neither a pooled query nor the listener
// waits on a dead socket forever.
func keepAliveDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout: timeout,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: 30 * time.Second, Interval: 10 * time.Second, Count: 3,
		},
	}
}

// EventSignal returns a channel that receives a value after events may have
// been appended by any instance sharing the database. Values are coalesced.
func (s *Store) EventSignal() <-chan struct{} { return s.signal }

// wake sends a coalesced signal without blocking.
func (s *Store) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// startListener opens the LISTEN connection before Open returns, so that no
// notification sent after Open is missed, and keeps it alive in the
// background until Close.
func (s *Store) startListener(ctx context.Context) error {
	conn, err := s.listenConn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: listen for events: %w", unavailable(ctx, err))
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	s.wg.Go(func() { s.listen(lctx, conn) })
	return nil
}

// listenConn opens a connection outside the pool, LISTENing on the channel.
// It is dedicated because a pooled connection would be handed to queries.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

// listen turns notifications into signals until ctx ends, reconnecting with
// backoff whenever the connection fails.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	for {
		err := s.receive(ctx, conn)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("postgres: event listener lost its connection", "err", err)
		if conn = s.reconnect(ctx); conn == nil {
			return
		}
		s.log.Info("postgres: event listener reconnected")
		// Notifications sent while it was away are lost: have the reader look.
		s.wake()
	}
}

// receive signals once per notification until the connection fails.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.wake()
	}
}

// reconnect retries listenConn with exponential backoff; it returns nil
// only when ctx ends.
func (s *Store) reconnect(ctx context.Context) *pgx.Conn {
	backoff := listenMinBackoff
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		conn, err := s.listenConn(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		backoff = min(2*backoff, listenMaxBackoff)
		s.log.Warn("postgres: event listener cannot reconnect", "err", err, "retry_in", backoff)
	}
}

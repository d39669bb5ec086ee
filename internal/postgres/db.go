package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// acquire takes a pooled connection, giving up after the acquire timeout
// with chat.ErrUnavailable: a pool that cannot connect, or whose every
// connection is stuck, should answer 503 quickly rather than queue forever.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, s.acquireTimeout)
	defer cancel()
	conn, err := s.pool.Acquire(actx)
	if err == nil {
		return conn, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	return nil, fmt.Errorf("acquire connection: %w: %w", chat.ErrUnavailable, err)
}

// withConn runs fn on a pooled connection: reads, and writes of a single
// statement that need no transaction.
func (s *Store) withConn(ctx context.Context, fn func(conn *pgxpool.Conn) error) error {
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return unavailable(ctx, fn(conn))
}

// write runs fn in a transaction. logsEvents says that fn may insert events
// or messages: such a transaction first takes this schema's write lock.
//
// Why the lock: ids come from sequences when a row is inserted, but rows
// become visible when their transaction commits. Without the lock, event 7
// could commit before event 6, and a reader that already moved its cursor
// to 7 would never see 6. pg_advisory_xact_lock serializes every writer of
// events and messages, across connections and across instances, from
// before its first insert until after its commit (transaction-level advisory
// locks are released only after the commit is visible), so ids are handed
// out and made visible in the same order. The price is one writer at a time,
// each holding the lock for a few short statements.
func (s *Store) write(ctx context.Context, logsEvents bool, fn func(tx pgx.Tx) error) error {
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if logsEvents {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", writeLockClass, s.lockID); err != nil {
				return fmt.Errorf("take write lock: %w", err)
			}
		}
		return fn(tx)
	})
	if err != nil {
		return unavailable(ctx, err)
	}
	if logsEvents {
		// The NOTIFY sent in the transaction reaches this instance too; the
		// local wake-up only spares the hub a round trip.
		s.wake()
	}
	return nil
}

// appendEvent appends an event built by chat.NewEvent and notifies every
// listening instance; the notification is delivered when tx commits, and
// PostgreSQL folds repeated notifications of one transaction into one.
func (s *Store) appendEvent(ctx context.Context, tx pgx.Tx, typ chat.EventType, payload any, now time.Time) error {
	ev, err := chat.NewEvent(typ, payload, now)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "INSERT INTO events (type, data, created) VALUES ($1, $2, $3)",
		string(ev.Type), string(ev.Data), ev.Created)
	if err != nil {
		return fmt.Errorf("append %s event: %w", typ, err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", s.channel); err != nil {
		return fmt.Errorf("notify %s event: %w", typ, err)
	}
	return nil
}

// unavailable wraps err with chat.ErrUnavailable when it says that the
// database cannot be reached or did not answer in time, and returns it
// unchanged otherwise (nil, a domain error, an SQL error). A caller that
// went away (context.Canceled) is not the database's fault.
func unavailable(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, chat.ErrUnavailable) || errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	if isConnectionError(err) {
		return fmt.Errorf("%w: %w", chat.ErrUnavailable, err)
	}
	return err
}

// isConnectionError reports whether err is a failure to reach or keep the
// server rather than a refusal of one statement.
func isConnectionError(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-03: the server is shutting
		// down or starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" ||
			pgErr.Code == "57P02" || pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		// pgx marks a connection closed once its socket failed; a BEGIN or
		// COMMIT on it is never sent, so nothing was written.
		errors.Is(err, pgconn.ErrConnClosed)
}

// noRows maps pgx.ErrNoRows to chat.ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.ErrNotFound
	}
	return err
}

// isForeignKeyViolation reports whether err is SQLSTATE 23503: a row refers
// to a user or session that does not exist.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

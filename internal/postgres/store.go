// Package postgres implements chat's store on PostgreSQL: hand-written SQL,
// embedded migrations, and a cross-instance wake-up over LISTEN/NOTIFY, so
// that several chatd instances can share one database.
package postgres

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"chatd/internal/chat"
)

// Options tune a Store; the zero value is a sensible default.
type Options struct {
	// MaxConns caps the connection pool; 0 means pgxpool's default.
	MaxConns int32
	// ConnectTimeout bounds establishing one connection when the URL has no
	// connect_timeout; 0 means 5 seconds.
	ConnectTimeout time.Duration
	// AcquireTimeout bounds waiting for a pooled connection; after it the
	// call fails with chat.ErrUnavailable. 0 means 5 seconds.
	AcquireTimeout time.Duration
	// Logger receives the event listener's reconnects; nil discards them.
	Logger *slog.Logger
}

const defaultTimeout = 5 * time.Second

// Advisory lock classes (the first key of the two-key form). The second key
// is derived from the schema name, so that deployments in different schemas
// of one database never wait for each other.
const (
	migrateLockClass int32 = 0x63686d67 // "chmg"
	writeLockClass   int32 = 0x63687772 // "chwr"
)

// Store is chat.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
	log            *slog.Logger
	// lockID is the second key of this schema's advisory locks.
	lockID int32
	// channel is the LISTEN/NOTIFY channel of this schema's event log.
	channel string

	signal    chan struct{}
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ chat.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or DSN), applies
// the migrations it lacks and starts listening for other instances' events.
// The schema is the first one on the connection's search_path. Connection
// failures are returned wrapped with chat.ErrUnavailable.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	s := &Store{
		pool:           pool,
		acquireTimeout: cmp.Or(opts.AcquireTimeout, defaultTimeout),
		log:            opts.Logger,
		signal:         make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := s.start(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// poolConfig parses url and applies opts.
func poolConfig(url string, opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors already hide the password.
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = cmp.Or(opts.ConnectTimeout, defaultTimeout)
	}
	cfg.ConnConfig.DialFunc = keepAliveDialer(cfg.ConnConfig.ConnectTimeout).DialContext
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	return cfg, nil
}

// start finds the schema, migrates it and starts the event listener.
func (s *Store) start(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", unavailable(ctx, err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema *string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("postgres: read current schema: %w", unavailable(ctx, err))
	}
	if schema == nil {
		return errors.New("postgres: no existing schema on the search_path")
	}
	s.lockID, s.channel = schemaKeys(*schema)
	if err := migrate(ctx, conn, s.lockID); err != nil {
		return fmt.Errorf("postgres: migrate: %w", unavailable(ctx, err))
	}
	return s.startListener(ctx)
}

// schemaKeys derives the advisory lock key and the notification channel of
// a schema. Channel names are identifiers of at most 63 bytes, so a long
// schema name is replaced by its hash.
func schemaKeys(schema string) (lockID int32, channel string) {
	h := fnv.New32a()
	h.Write([]byte(schema))
	lockID = int32(h.Sum32())
	channel = "chatd_events_" + schema
	if len(channel) > 63 {
		sum := sha256.Sum256([]byte(schema))
		channel = "chatd_events_" + hex.EncodeToString(sum[:16])
	}
	return lockID, channel
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	conn, err := s.acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	defer conn.Release()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", unavailable(ctx, err))
	}
	return nil
}

// Close stops the event listener and closes every connection.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		s.wg.Wait()
		s.pool.Close()
	})
	return nil
}

// Package sqlite implements chat.Store on a SQLite file, through the pure-Go
// modernc.org/sqlite driver, with its own SQL and embedded migrations.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"chatd/internal/chat"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Options configure a Store. The zero value is the safe default.
type Options struct {
	// Synchronous is SQLite's synchronous setting: "FULL" (the default; an
	// answered write survives a power cut) or "NORMAL" (faster; in WAL mode
	// a power cut may lose the last commits, never corrupt the file).
	Synchronous string
	// ReadConns is the size of the read pool; 0 means 4.
	ReadConns int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process (a backup tool, a second chatd by mistake) before failing
	// with chat.ErrUnavailable; 0 means 10 seconds.
	BusyTimeout time.Duration
}

const (
	defaultReadConns   = 4
	defaultBusyTimeout = 10 * time.Second
)

func (o Options) normalize() (Options, error) {
	switch strings.ToUpper(o.Synchronous) {
	case "", "FULL":
		o.Synchronous = "FULL"
	case "NORMAL":
		o.Synchronous = "NORMAL"
	default:
		return o, fmt.Errorf("sqlite: synchronous %q: want FULL or NORMAL", o.Synchronous)
	}
	switch {
	case o.ReadConns < 0:
		return o, fmt.Errorf("sqlite: read connections %d: want 0 or more", o.ReadConns)
	case o.ReadConns == 0:
		o.ReadConns = defaultReadConns
	}
	switch {
	case o.BusyTimeout < 0:
		return o, fmt.Errorf("sqlite: busy timeout %v: want 0 or more", o.BusyTimeout)
	case o.BusyTimeout == 0:
		o.BusyTimeout = defaultBusyTimeout
	}
	return o, nil
}

// Store is chat.Store on SQLite. Every write goes through one connection
// (SQLite allows one writer at a time anyway, and queueing in Go instead of
// in SQLite's busy handler means "database is locked" never reaches a
// client); reads use a separate pool of query-only connections, which WAL
// mode lets run alongside the writer.
type Store struct {
	writer   *sql.DB
	reader   *sql.DB
	prepared map[string]*sql.Stmt // hotWrites on the writer; read-only after Open
	// sessionByToken is sessionByTokenSQL prepared on the read pool: with
	// writes group-committed, parsing it again for every request cost more
	// CPU than the write of a message.
	sessionByToken *sql.Stmt
	signal         chan struct{}

	writes   chan *pending // to the writer goroutine; unbuffered, see write
	closing  chan struct{} // closed by Close: the writer goroutine stops
	stopped  chan struct{} // closed by the writer goroutine when it stopped
	stopOnce sync.Once
}

var _ chat.Store = (*Store)(nil)

// Open opens (creating when absent) the database at path, creating its
// parent directory too, and applies the migrations it has not seen yet.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer, err := openDB(ctx, writerDSN(abs, opts), 1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s for writing: %w", path, err)
	}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	prepared, err := prepareAll(ctx, writer, hotWrites())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reader, err := openDB(ctx, readerDSN(abs, opts), opts.ReadConns)
	if err != nil {
		closeAll(prepared)
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	sessionByToken, err := reader.PrepareContext(ctx, sessionByTokenSQL)
	if err != nil {
		closeAll(prepared)
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: prepare session read: %w", path, err)
	}
	s := &Store{
		writer:         writer,
		reader:         reader,
		prepared:       prepared,
		sessionByToken: sessionByToken,
		signal:         make(chan struct{}, 1),
		writes:         make(chan *pending),
		closing:        make(chan struct{}),
		stopped:        make(chan struct{}),
	}
	go s.writeLoop()
	return s, nil
}

// createPrivate creates the parent directory and, when absent, an empty
// database file readable by its owner only: it holds password hashes, and
// SQLite gives its -wal and -shm files the same mode.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func openDB(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// fileURI names path as a SQLite URI, so that no character of the path ('?',
// '#', '%') can be mistaken for a parameter.
func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// writerDSN configures the single writer connection: WAL (readers never
// block it), the chosen durability, foreign keys, and BEGIN IMMEDIATE, so a
// transaction takes the write lock up front instead of failing with
// SQLITE_BUSY when it upgrades from reading to writing.
func writerDSN(path string, opts Options) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+opts.Synchronous+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return fileURI(path) + "?" + q.Encode()
}

// readerDSN configures the read pool: query_only, so a write that slipped
// onto the wrong pool fails loudly instead of racing the writer.
func readerDSN(path string, opts Options) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "query_only(1)")
	return fileURI(path) + "?" + q.Encode()
}

// Close stops the writer goroutine, after the batch it is committing, and
// closes both pools. Writes still queued fail.
func (s *Store) Close() error {
	s.stopOnce.Do(func() {
		close(s.closing)
		<-s.stopped
	})
	return errors.Join(closeAll(s.prepared), s.sessionByToken.Close(), s.reader.Close(), s.writer.Close())
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// EventSignal returns the channel that receives a value after a commit that
// appended events.
func (s *Store) EventSignal() <-chan struct{} { return s.signal }

// notify wakes the signal's reader without ever blocking a writer: a value
// already waiting says the same thing.
func (s *Store) notify() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

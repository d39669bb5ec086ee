package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"chatd/internal/chat"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// txn is a write transaction that remembers whether it appended events, so
// that its commit can wake the event signal's reader.
type txn struct {
	*sql.Tx
	prepared map[string]*sql.Stmt // the writer's hotWrites
	appended bool
}

// maxBatch bounds how many writes share one transaction and one fsync, so
// that one commit never holds a long queue of callers hostage.
const maxBatch = 64

// pending is one caller's write waiting for the writer goroutine.
type pending struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *txn) error
	done chan error // buffered: the writer never waits for its caller
}

// write runs fn in a transaction on the writer connection and returns once
// that transaction has committed (or failed). It is the only way anything
// is written. Writes are group-committed: the writer goroutine runs the fns
// of concurrent callers in one transaction with one fsync (see commitBatch).
//
// ctx is honoured while the write is queued. Once the writer has started
// fn, the write is part of a batch that other callers' answers depend on:
// fn runs with ctx's values but not its cancellation (SQLite would answer an
// interrupted statement by rolling back the whole transaction), and the
// caller waits for the commit, so that its answer is true.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *txn) error) error {
	w := &pending{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
		return <-w.done
	case <-ctx.Done():
		return fmt.Errorf("queued: %w", ctx.Err())
	case <-s.closing:
		return errClosed
	}
}

var errClosed = errors.New("store closed")

// writeLoop is the writer goroutine: it takes a write, gathers whatever
// else is queued by then (no waiting for more: a lone write commits at
// once), and commits the batch, until the store closes.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	batch := make([]*pending, 0, maxBatch)
	for {
		select {
		case w := <-s.writes:
			batch = gather(append(batch[:0], w), s.writes)
			s.commitBatch(batch)
			clear(batch) // drop the finished callers' closures
		case <-s.closing:
			return
		}
	}
}

// gather adds the writes already waiting on writes to batch, up to maxBatch.
func gather(batch []*pending, writes <-chan *pending) []*pending {
	for len(batch) < maxBatch {
		select {
		case w := <-writes:
			batch = append(batch, w)
		default:
			return batch
		}
	}
	return batch
}

// commitBatch runs the fns of batch in one immediate transaction, each in a
// savepoint of its own, commits once and answers every caller: a fn's error
// goes to its caller alone (its savepoint is rolled back, the others stay);
// a failure of the transaction itself goes to every caller.
func (s *Store) commitBatch(batch []*pending) {
	errs, err := s.runBatch(batch)
	for i, w := range batch {
		w.done <- cmp.Or(errs[i], err)
	}
}

func (s *Store) runBatch(batch []*pending) (errs []error, err error) {
	errs = make([]error, len(batch))
	sqlTx, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		return errs, fmt.Errorf("begin: %w", unavailable(err))
	}
	appended := false
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("queued: %w", err) // gone before it started: skip it
			continue
		}
		tx := &txn{Tx: sqlTx, prepared: s.prepared}
		errs[i], err = savepoint(tx, w)
		if err != nil {
			return errs, errors.Join(err, ignoreDone(sqlTx.Rollback()))
		}
		appended = appended || (errs[i] == nil && tx.appended)
	}
	if err := sqlTx.Commit(); err != nil {
		return errs, fmt.Errorf("commit: %w", unavailable(err))
	}
	if appended {
		s.notify()
	}
	return errs, nil
}

// The savepoint that holds one caller's statements within a batch.
const (
	savepointSQL = `SAVEPOINT w`
	releaseSQL   = `RELEASE w`
)

// savepoint runs w's fn inside a savepoint, so that its failure undoes its
// own statements only. fnErr is fn's error, for its caller; err is a failure
// of the savepoint itself, which leaves the transaction in doubt and so
// fails the whole batch.
func savepoint(tx *txn, w *pending) (fnErr, err error) {
	ctx := context.WithoutCancel(w.ctx)
	if _, err := tx.ExecContext(ctx, savepointSQL); err != nil {
		return nil, fmt.Errorf("savepoint: %w", unavailable(err))
	}
	if fnErr = unavailable(runFn(ctx, tx, w)); fnErr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO w`); err != nil {
			return fnErr, fmt.Errorf("roll back to savepoint: %w", unavailable(err))
		}
	}
	if _, err := tx.ExecContext(ctx, releaseSQL); err != nil {
		return fnErr, fmt.Errorf("release savepoint: %w", unavailable(err))
	}
	return fnErr, nil
}

// runFn runs one caller's fn, turning a panic into that caller's error: the
// fn runs on the writer goroutine, where a panic would otherwise end the
// process rather than one request.
func runFn(ctx context.Context, tx *txn, w *pending) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: write panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return w.fn(ctx, tx)
}

// read runs fn in one read transaction on the read pool, so that everything
// fn reads comes from one snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", unavailable(err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return unavailable(fn(tx))
}

// unavailable marks a lock that another process held past the busy timeout
// as chat.ErrUnavailable: the request failed for now, not for good, and the
// client may retry.
func unavailable(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) && !errors.Is(err, chat.ErrUnavailable) {
		switch e.Code() & 0xff { // the primary code, without the extended bits
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", chat.ErrUnavailable, err)
		}
	}
	return err
}

// ignoreDone drops the error of rolling back a transaction that the
// context's end already rolled back.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

const appendEventSQL = `INSERT INTO events (type, data, created) VALUES (?, ?, ?)`

// appendEvent adds an event to the log inside tx; its id is assigned in
// commit order because there is only one writer.
func (tx *txn) appendEvent(ctx context.Context, typ chat.EventType, payload any, created time.Time) error {
	e, err := chat.NewEvent(typ, payload, created)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, appendEventSQL,
		string(e.Type), string(e.Data), e.Created.Unix())
	if err != nil {
		return fmt.Errorf("append %s event: %w", typ, err)
	}
	tx.appended = true
	return nil
}

// notFound turns "no rows" into chat.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return chat.ErrNotFound
	}
	return err
}

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// unix returns t in the stored form, Unix seconds.
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix returns a stored time as a UTC time.Time.
func fromUnix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

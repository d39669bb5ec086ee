package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"chatd/internal/chat"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// txn is a write transaction that remembers whether it appended events, so
// that its commit can wake the event signal's reader.
type txn struct {
	*sql.Tx
	appended bool
}

// write runs fn in one immediate transaction on the writer connection and
// commits it. It is the only way anything is written. Group commit —
// gathering the fns of concurrent callers into one transaction and one fsync
// — belongs here: no caller would change.
func (s *Store) write(ctx context.Context, fn func(tx *txn) error) error {
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", unavailable(err))
	}
	tx := &txn{Tx: sqlTx}
	if err := fn(tx); err != nil {
		return errors.Join(unavailable(err), ignoreDone(sqlTx.Rollback()))
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", unavailable(err))
	}
	if tx.appended {
		s.notify()
	}
	return nil
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

// appendEvent adds an event to the log inside tx; its id is assigned in
// commit order because there is only one writer.
func (tx *txn) appendEvent(ctx context.Context, typ chat.EventType, payload any, created time.Time) error {
	e, err := chat.NewEvent(typ, payload, created)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO events (type, data, created) VALUES (?, ?, ?)`,
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

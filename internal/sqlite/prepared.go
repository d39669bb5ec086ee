package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// hotWrites are the statements of the commonest write, a new message, and
// of every write's savepoint. They are prepared once on the writer
// connection: parsing them again for each write cost about a quarter of the
// write path's CPU, and under group commit that CPU, not the fsync, bounds
// the rate.
func hotWrites() []string {
	return []string{savepointSQL, releaseSQL, authorSQL, insertMessageSQL, appendEventSQL}
}

// prepareAll prepares queries on db, keyed by their text.
func prepareAll(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare %q: %w", q, err), closeAll(stmts))
		}
		stmts[q] = st
	}
	return stmts, nil
}

func closeAll(stmts map[string]*sql.Stmt) error {
	var errs []error
	for _, st := range stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// ExecContext runs query in tx, as a prepared statement when it is one of
// hotWrites.
func (tx *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := tx.prepared[query]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs query in tx, as a prepared statement when it is one
// of hotWrites.
func (tx *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := tx.prepared[query]; ok {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

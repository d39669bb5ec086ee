package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"chatd/internal/chat"
)

// TestConnectionErrorsAreUnavailable: errors that mean "the database went
// away" must reach the HTTP layer as chat.ErrUnavailable (503), never as an
// unknown error (500). The cluster outage test found pgconn.ErrConnClosed.
func TestConnectionErrorsAreUnavailable(t *testing.T) {
	for _, err := range []error{
		pgconn.ErrConnClosed,
		fmt.Errorf("commit: %w", pgconn.ErrConnClosed),
		&pgconn.PgError{Code: "08006"},
		&pgconn.PgError{Code: "57P01"},
	} {
		if !isConnectionError(err) {
			t.Errorf("isConnectionError(%v) = false, want true", err)
		}
	}
	if isConnectionError(&pgconn.PgError{Code: "23505"}) {
		t.Error("a unique violation counts as a connection error")
	}
	if got := unavailable(t.Context(), fmt.Errorf("x: %w", pgconn.ErrConnClosed)); !errors.Is(got, chat.ErrUnavailable) {
		t.Errorf("unavailable(conn closed) = %v, want it to wrap chat.ErrUnavailable", got)
	}
}

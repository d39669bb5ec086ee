package realtime

import (
	"context"
	"path/filepath"
	"testing"

	"chatd/internal/sqlite"
)

// newStore opens a real SQLite store in a temporary directory.
func newStore(t *testing.T) store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

package postgres

import (
	"testing"

	"chatd/internal/chat"
	"chatd/internal/pgtest"
	"chatd/internal/storetest"
)

// openStore opens a Store on dbURL, closed when the test ends.
func openStore(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreContract(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) chat.Store {
		return openStore(t, pgtest.SchemaURL(t))
	})
}

package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"chatd/internal/chat"
)

// benchStore opens a store with one user and returns it with the user's id.
func benchStore(b *testing.B, opts Options) (*Store, int64) {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "chat.db"), opts)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	u, err := s.CreateUser(b.Context(), chat.NewUser{Login: "bench", LoginKey: "bench", PasswordHash: "h"})
	if err != nil {
		b.Fatalf("CreateUser: %v", err)
	}
	return s, u.ID
}

// BenchmarkCreateMessage measures the write path with 16 writers per CPU,
// as a busy server has: group commit shares one transaction and, with
// synchronous=FULL, one fsync among the messages queued at once.
func BenchmarkCreateMessage(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run(sync, func(b *testing.B) {
			s, user := benchStore(b, Options{Synchronous: sync})
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, err := s.CreateMessage(b.Context(), chat.NewMessage{UserID: user, Text: "bench", Created: time.Unix(1, 0)})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkListMessages reads the newest 100 of 10,000 messages; its cost
// must not grow with the number of messages.
func BenchmarkListMessages(b *testing.B) {
	s, user := benchStore(b, Options{Synchronous: "NORMAL"})
	for i := range 10000 {
		_, err := s.CreateMessage(b.Context(), chat.NewMessage{UserID: user, Text: "m", Created: time.Unix(int64(i), 0)})
		if err != nil {
			b.Fatal(err)
		}
	}
	queries := map[string]chat.MessageQuery{
		"newest": {Limit: 100},
		"after":  {Limit: 100, HasAfter: true, AfterID: 5000},
		"since":  {Limit: 100, HasSince: true, Since: 5000},
	}
	for name, q := range queries {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				msgs, err := s.ListMessages(b.Context(), q)
				if err != nil || len(msgs) != 100 {
					b.Fatalf("ListMessages: got %d messages, error %v; want 100", len(msgs), err)
				}
			}
		})
	}
}

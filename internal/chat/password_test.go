package chat

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h := NewPasswordHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1)
	ctx := context.Background()
	hash, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash = %q, want PHC argon2id with its parameters", hash)
	}
	if ok, err := h.Verify(ctx, "correct horse", hash); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v; want true", ok, err)
	}
	if ok, _ := h.Verify(ctx, "wrong", hash); ok {
		t.Error("Verify(wrong) = true")
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == hash {
		t.Error("two hashes of one password are equal: salt not random")
	}
	// Raising the parameters later keeps old hashes verifiable.
	stronger := NewPasswordHasher(Argon2Params{MemoryKiB: 128, Time: 2, Threads: 1}, 1)
	if ok, _ := stronger.Verify(ctx, "correct horse", hash); !ok {
		t.Error("a hasher with other parameters cannot verify an old hash")
	}
	if _, err := h.Verify(ctx, "x", "$argon2id$garbage"); err == nil {
		t.Error("malformed hash verified without error")
	}
}

func TestDefaultsAreOWASP(t *testing.T) {
	p := OWASPArgon2Params()
	if p.MemoryKiB < 19*1024 || p.Time < 2 || p.Threads < 1 {
		t.Errorf("default argon2id %+v is below OWASP's m=19MiB t=2 p=1", p)
	}
}

// TestHashConcurrencyIsBounded shows that with every hashing slot busy a
// further hash waits (and gives up with its context) instead of running, and
// proceeds once a slot frees.
func TestHashConcurrencyIsBounded(t *testing.T) {
	h := NewPasswordHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2)
	h.slots <- struct{}{}
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); err == nil {
		t.Fatal("a third hash ran while both slots were busy")
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "pw")
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("hash finished while both slots were busy")
	case <-time.After(20 * time.Millisecond):
	}
	<-h.slots
	if err := <-done; err != nil {
		t.Fatalf("hash after a slot freed: %v", err)
	}
}

func TestTokens(t *testing.T) {
	tok, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 43 || strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q is not 256 bits of URL-safe text", tok)
	}
	if string(hash) != string(HashToken(tok)) || len(hash) != 32 {
		t.Error("stored hash is not the SHA-256 of the token")
	}
	other, _, _ := NewToken()
	if other == tok {
		t.Error("two tokens are equal")
	}
}

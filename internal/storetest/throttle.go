package storetest

import (
	"testing"
	"time"

	"chatd/internal/chat"
)

func throttleCases() []testCase {
	return []testCase{
		{"LoginThrottle/CountAndWindow", testLoginFailures},
		{"LoginThrottle/Clear", testClearLoginFailures},
	}
}

func recordFailure(t *testing.T, s chat.Store, key string, when time.Time) {
	t.Helper()
	if err := s.RecordLoginFailure(ctx(t), key, when); err != nil {
		t.Fatalf("RecordLoginFailure(%q): %v", key, err)
	}
}

// wantFailures checks LoginFailures(key, since); earliest is the zero time
// when want is 0.
func wantFailures(t *testing.T, s chat.Store, key string, since time.Time, want int, earliest time.Time) {
	t.Helper()
	n, first, err := s.LoginFailures(ctx(t), key, since)
	if err != nil {
		t.Fatalf("LoginFailures(%q): %v", key, err)
	}
	if n != want {
		t.Errorf("LoginFailures(%q, %v): got count %d, want %d", key, since, n, want)
	}
	if want == 0 && !first.IsZero() {
		t.Errorf("LoginFailures(%q, %v) with none: got earliest %v, want the zero time", key, since, first)
	}
	if want > 0 && !first.Equal(earliest) {
		t.Errorf("LoginFailures(%q, %v): got earliest %v, want %v", key, since, first, earliest)
	}
}

func testLoginFailures(t *testing.T, s chat.Store) {
	wantFailures(t, s, "login:frank", time.Time{}, 0, time.Time{})
	// Recorded out of order: earliest is the minimum, not the first recorded.
	for _, sec := range []int{30, 10, 20, 20} {
		recordFailure(t, s, "login:frank", at(sec))
	}
	recordFailure(t, s, "addr:192.0.2.1", at(5))
	wantFailures(t, s, "login:frank", time.Time{}, 4, at(10))
	wantFailures(t, s, "login:frank", at(10), 4, at(10)) // at or after since
	wantFailures(t, s, "login:frank", at(11), 3, at(20))
	wantFailures(t, s, "login:frank", at(21), 1, at(30))
	wantFailures(t, s, "login:frank", at(31), 0, time.Time{})
	wantFailures(t, s, "addr:192.0.2.1", time.Time{}, 1, at(5))
	wantFailures(t, s, "login:other", time.Time{}, 0, time.Time{})
}

func testClearLoginFailures(t *testing.T, s chat.Store) {
	recordFailure(t, s, "login:gina", at(1))
	recordFailure(t, s, "login:gina", at(2))
	recordFailure(t, s, "addr:198.51.100.7", at(3))
	if err := s.ClearLoginFailures(ctx(t), "login:gina"); err != nil {
		t.Fatalf("ClearLoginFailures: %v", err)
	}
	wantFailures(t, s, "login:gina", time.Time{}, 0, time.Time{})
	wantFailures(t, s, "addr:198.51.100.7", time.Time{}, 1, at(3))
	if err := s.ClearLoginFailures(ctx(t), "login:never"); err != nil {
		t.Errorf("ClearLoginFailures of a key without failures: got %v, want nil", err)
	}
	recordFailure(t, s, "login:gina", at(4))
	wantFailures(t, s, "login:gina", time.Time{}, 1, at(4))
}

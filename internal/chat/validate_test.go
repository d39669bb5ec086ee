package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateLogin(t *testing.T) {
	tests := []struct {
		login string
		ok    bool
	}{
		{"bob", true},
		{"Алиса", true},
		{"user_1.x-y", true},
		{"中文名", true},
		{strings.Repeat("a", 32), true},
		{"ab", false},
		{strings.Repeat("a", 33), false},
		{"", false},
		{"a b", false},
		{"bob@mail", false},
		{"<script>", false},
		{"\xff\xfeab", false},
	}
	for _, tt := range tests {
		if got := ValidateLogin(tt.login).Err() == nil; got != tt.ok {
			t.Errorf("ValidateLogin(%q) ok = %v, want %v", tt.login, got, tt.ok)
		}
	}
}

func TestValidateLoginReportsEveryProblem(t *testing.T) {
	v := ValidateLogin("a@")
	if n := len(v.Fields["login"]); n != 2 {
		t.Errorf("got %d problems %v, want length and alphabet", n, v.Fields["login"])
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		password string
		min      int
		ok       bool
	}{
		{"abc", 3, true},
		{"ab", 3, false},
		{"abcdefgh", 10, false},
		{strings.Repeat("ж", 256), 3, true},
		{strings.Repeat("ж", 257), 3, false},
		{"\xff\xff\xff", 3, false},
	}
	for _, tt := range tests {
		if got := ValidatePassword(tt.password, tt.min).Err() == nil; got != tt.ok {
			t.Errorf("ValidatePassword(%q, %d) ok = %v, want %v", tt.password, tt.min, got, tt.ok)
		}
	}
}

func TestValidateMessageText(t *testing.T) {
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"plain", "hello", true},
		{"1000 cyrillic", strings.Repeat("я", 1000), true},
		{"1001 cyrillic", strings.Repeat("я", 1001), false},
		{"1000 emoji", strings.Repeat("😀", 1000), true},
		{"empty", "", false},
		{"blank", " \t\n\u00a0\u3000", false},
		{"NUL", "a\x00", false},
		{"invalid UTF-8", "a\xffb", false},
		{"markup is just text", "<img src=x onerror=alert(1)>", true},
	}
	for _, tt := range tests {
		if got := ValidateMessageText(tt.text).Err() == nil; got != tt.ok {
			t.Errorf("%s: ok = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestFoldLogin(t *testing.T) {
	same := [][2]string{{"Alice", "alice"}, {"ALICE", "aLiCe"}, {"Алиса", "АЛИСА"}, {"Straße", "STRAßE"}, {"K", "\u212a"}}
	for _, p := range same {
		if FoldLogin(p[0]) != FoldLogin(p[1]) {
			t.Errorf("FoldLogin(%q) != FoldLogin(%q), want equal", p[0], p[1])
		}
	}
	if FoldLogin("alice") == FoldLogin("alicf") {
		t.Error("different logins fold to one key")
	}
}

func FuzzValidation(f *testing.F) {
	for _, s := range []string{"bob", "Алиса", "", " ", "a\x00", "\xff", strings.Repeat("x", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		login := NormalizeLogin(s)
		if ValidateLogin(login).Err() == nil {
			n := utf8.RuneCountInString(login)
			if n < LoginMinLen || n > LoginMaxLen || !utf8.ValidString(login) {
				t.Errorf("login %q accepted with %d runes", login, n)
			}
			if FoldLogin(FoldLogin(login)) != FoldLogin(login) {
				t.Errorf("FoldLogin is not idempotent on %q", login)
			}
		}
		if ValidateMessageText(s).Err() == nil {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MessageMaxLen || strings.ContainsRune(s, 0) || strings.TrimSpace(s) == "" {
				t.Errorf("text %q accepted", s)
			}
		}
		_ = ValidatePassword(s, PasswordMinLen)
	})
}

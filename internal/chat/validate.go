package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the API's fields, counted in Unicode code points.
const (
	LoginMinLen       = 3
	LoginMaxLen       = 32
	PasswordMinLen    = 3
	PasswordMaxLen    = 256
	MessageMaxLen     = 1000
	IdempotencyKeyMax = 255
)

// NormalizeLogin returns the login as it is stored: surrounding whitespace trimmed.
func NormalizeLogin(login string) string {
	return strings.TrimSpace(login)
}

// ValidateLogin reports the problems of an already normalized login.
func ValidateLogin(login string) *ValidationError {
	v := ValidateLoginLength(login)
	if utf8.ValidString(login) && strings.IndexFunc(login, notLoginRune) >= 0 {
		v.Add("login", "may contain only letters, digits, '_', '-' and '.'")
	}
	return v
}

// ValidateLoginLength reports only the length problems of a login: logging in
// checks lengths, while the alphabet is a rule for new logins.
func ValidateLoginLength(login string) *ValidationError {
	v := &ValidationError{}
	switch n := utf8.RuneCountInString(login); {
	case !utf8.ValidString(login):
		v.Add("login", "must be valid UTF-8")
	case n == 0:
		v.Add("login", "is required")
	case n < LoginMinLen:
		v.Add("login", fmt.Sprintf("must be at least %d characters", LoginMinLen))
	case n > LoginMaxLen:
		v.Add("login", fmt.Sprintf("must be at most %d characters", LoginMaxLen))
	}
	return v
}

func notLoginRune(r rune) bool {
	return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r) ||
		r == '_' || r == '-' || r == '.')
}

// ValidatePassword reports the problems of a password; minLen is the
// deployment's minimum (at least PasswordMinLen).
func ValidatePassword(password string, minLen int) *ValidationError {
	v := &ValidationError{}
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		v.Add("password", "must be valid UTF-8")
	case n == 0:
		v.Add("password", "is required")
	case n < minLen:
		v.Add("password", fmt.Sprintf("must be at least %d characters", minLen))
	case n > PasswordMaxLen:
		v.Add("password", fmt.Sprintf("must be at most %d characters", PasswordMaxLen))
	}
	return v
}

// ValidateMessageText reports the problems of a message text. The text is
// stored exactly as sent, so nothing is trimmed here.
func ValidateMessageText(text string) *ValidationError {
	v := &ValidationError{}
	switch {
	case !utf8.ValidString(text):
		v.Add("text", "must be valid UTF-8")
	case text == "":
		v.Add("text", "is required")
	case strings.IndexByte(text, 0) >= 0:
		v.Add("text", "must not contain NUL characters")
	case strings.TrimFunc(text, unicode.IsSpace) == "":
		v.Add("text", "must not be blank")
	case utf8.RuneCountInString(text) > MessageMaxLen:
		v.Add("text", fmt.Sprintf("must be at most %d characters", MessageMaxLen))
	}
	return v
}

// ValidateIdempotencyKey reports the problems of an Idempotency-Key header
// value: 1 to 255 printable ASCII characters.
func ValidateIdempotencyKey(key string) *ValidationError {
	if len(key) > IdempotencyKeyMax || strings.IndexFunc(key, notPrintableASCII) >= 0 {
		return fieldError("Idempotency-Key", fmt.Sprintf("must be 1 to %d printable ASCII characters", IdempotencyKeyMax))
	}
	return &ValidationError{}
}

func notPrintableASCII(r rune) bool { return r < 0x21 || r > 0x7e }

// FoldLogin returns the key under which logins are unique regardless of case:
// every rune replaced by the smallest rune of its simple case-folding orbit,
// so "Alice", "ALICE" and "alice" share one key.
func FoldLogin(login string) string {
	var b strings.Builder
	b.Grow(len(login))
	for _, r := range login {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	smallest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < smallest {
			smallest = f
		}
	}
	return smallest
}

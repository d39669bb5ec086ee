package chat

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Sentinel errors returned by the service and by stores.
var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLoginTaken means a user with the same folded login exists.
	ErrLoginTaken = errors.New("login already taken")
	// ErrUnauthenticated means no valid token (missing, unknown, revoked or expired).
	ErrUnauthenticated = errors.New("no valid token")
	// ErrBadCredentials means an unknown login or a wrong password.
	ErrBadCredentials = errors.New("wrong login or password")
	// ErrNotAuthor means the session's user may not change this message.
	ErrNotAuthor = errors.New("not the author of this message")
	// ErrUnavailable means the store cannot be reached right now; the request
	// may be retried later.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrHistoryGone means events were requested from before the kept history.
	ErrHistoryGone = errors.New("event history no longer available")
)

// ValidationError lists every bad field of a request with human-readable
// messages, keyed by the form's own field names.
type ValidationError struct {
	Fields map[string][]string
}

// Add records one problem with field.
func (v *ValidationError) Add(field, message string) {
	if v.Fields == nil {
		v.Fields = make(map[string][]string)
	}
	v.Fields[field] = append(v.Fields[field], message)
}

// Merge adds every problem of other.
func (v *ValidationError) Merge(other *ValidationError) {
	if other == nil {
		return
	}
	for field, msgs := range other.Fields {
		for _, m := range msgs {
			v.Add(field, m)
		}
	}
}

// Err returns v when it holds a problem and nil otherwise, so that callers can
// collect problems and return the result directly.
func (v *ValidationError) Err() error {
	if v == nil || len(v.Fields) == 0 {
		return nil
	}
	return v
}

func (v *ValidationError) Error() string {
	fields := make([]string, 0, len(v.Fields))
	for f, msgs := range v.Fields {
		fields = append(fields, f+": "+strings.Join(msgs, ", "))
	}
	sort.Strings(fields)
	return "invalid input: " + strings.Join(fields, "; ")
}

// fieldError is a shorthand for a ValidationError with one problem.
func fieldError(field, message string) *ValidationError {
	v := &ValidationError{}
	v.Add(field, message)
	return v
}

// ImageError is returned by an ImageProcessor for an image that breaks the
// avatar rules; Reason is shown to the client as the "image" field error.
type ImageError struct {
	Reason string
}

func (e *ImageError) Error() string { return "invalid image: " + e.Reason }

// RateLimitedError means too many failed logins; the client may try again
// after RetryAfter.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed logins, retry after %s", e.RetryAfter)
}

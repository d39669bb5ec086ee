package chat

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Limits of GET /api/messages.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
	MaxWait          = 60 * time.Second
)

// ListRequest is a parsed GET /api/messages: the query, and how long to hold
// the request when nothing matches yet.
type ListRequest struct {
	Query MessageQuery
	Wait  time.Duration
}

// ParseListRequest reads the list parameters, reporting every malformed one.
// "begin" alone is lenient: the original client sends begin=undefined while
// the chat is empty, so a non-number there reads as 0.
func ParseListRequest(params url.Values) (ListRequest, error) {
	v := &ValidationError{}
	q := MessageQuery{Limit: DefaultListLimit}
	if s, ok := param(params, "limit"); ok {
		q.Limit = int(parseInt(v, "limit", s, 1, MaxListLimit))
	}
	if s, ok := param(params, "after"); ok {
		q.HasAfter = true
		q.AfterID = parseInt(v, "after", s, 0, maxID)
	}
	if s, ok := param(params, "before"); ok {
		q.BeforeID = parseInt(v, "before", s, 1, maxID)
	}
	if s, ok := param(params, "begin"); ok {
		q.HasSince = true
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			q.Since = n
		}
	}
	var wait time.Duration
	if s, ok := param(params, "wait"); ok {
		wait = time.Duration(parseInt(v, "wait", s, 0, int64(MaxWait/time.Second))) * time.Second
		if wait > 0 && !q.Forward() {
			v.Add("wait", "needs after or begin")
		}
	}
	if err := v.Err(); err != nil {
		return ListRequest{}, err
	}
	return ListRequest{Query: q, Wait: wait}, nil
}

const maxID = 1<<63 - 1

// param returns a query parameter that was given with a value.
func param(params url.Values, name string) (string, bool) {
	if !params.Has(name) {
		return "", false
	}
	return params.Get(name), true
}

// parseInt parses an integer in [lo, hi], adding a field error otherwise.
func parseInt(v *ValidationError, field, s string, lo, hi int64) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		v.Add(field, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return 0
	}
	return n
}

// ParseID reads a path id. Anything that is not a positive integer is an id
// that does not exist, so it returns ErrNotFound.
func ParseID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrNotFound
	}
	return n, nil
}

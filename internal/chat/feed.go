package chat

import (
	"context"
	"errors"
)

// Errors that end a subscription.
var (
	// ErrSlowConsumer means the subscriber fell too far behind and was cut
	// off; it may resume from the last event id it saw.
	ErrSlowConsumer = errors.New("subscriber fell too far behind")
	// ErrFeedClosed means the feed is shutting down.
	ErrFeedClosed = errors.New("event feed closed")
)

// Feed delivers the event log to live subscribers in ID order. The realtime
// hub implements it; event streams and long polls both consume it, so every
// kind of client is woken by the same path.
type Feed interface {
	// Subscribe returns a subscription delivering every event with
	// ID > after, first from the kept history and then live. after < 0 means
	// from now on: only events appended after Subscribe returns. It returns
	// ErrHistoryGone when events after `after` are no longer kept.
	Subscribe(ctx context.Context, after int64) (Subscription, error)
}

// Subscription is one subscriber's view of the feed.
type Subscription interface {
	// Events delivers events in ID order, each exactly once. It is closed
	// when the subscription ends; Err then says why.
	Events() <-chan Event
	// Err returns nil while the subscription runs or after Close, and
	// ErrSlowConsumer or ErrFeedClosed when the feed ended it.
	Err() error
	// Close ends the subscription and releases its resources. It is safe to
	// call more than once.
	Close()
}

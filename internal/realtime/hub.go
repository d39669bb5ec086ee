// Package realtime fans the store's event log out to live subscribers: the
// event streams and long polls of one chatd instance.
package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"chatd/internal/chat"
)

// Options tune a Hub; zero fields take the defaults below.
type Options struct {
	// Buffer is how many events a live subscriber may fall behind the hub
	// before it is cut off with chat.ErrSlowConsumer. A subscriber still
	// catching up from its resume point is not cut off for lagging.
	Buffer int
	// Ring is how many recent events the hub keeps in memory, so that
	// reconnecting and lagging subscribers catch up without the store. It is
	// raised to Buffer when smaller.
	Ring int
	// Batch is how many events one store read returns.
	Batch int
	// Fallback is how often the hub reads the log without a wake-up, in case
	// one was lost.
	Fallback time.Duration
}

// Defaults of Options.
const (
	DefaultBuffer   = 256
	DefaultRing     = 4096
	DefaultBatch    = 256
	DefaultFallback = 3 * time.Second
	// chanSize is the channel of each subscriber. It is small on purpose: an
	// idle subscriber costs only this (about 72 bytes a slot), and one that
	// falls further behind is fed from the shared ring by a short-lived
	// goroutine instead of a private queue.
	chanSize = 16
)

func (o Options) withDefaults() Options {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Ring <= 0 {
		o.Ring = DefaultRing
	}
	o.Ring = max(o.Ring, o.Buffer)
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Fallback <= 0 {
		o.Fallback = DefaultFallback
	}
	return o
}

// Hub implements chat.Feed over a chat.EventLog. Run is its single reader;
// every subscriber receives the events Run reads, in ID order.
type Hub struct {
	log     chat.EventLog
	logger  *slog.Logger
	opts    Options
	started atomic.Bool
	ready   chan struct{} // closed once Run knows the log's position
	stopped chan struct{} // closed when Run ends
	feeders sync.WaitGroup

	mu     sync.Mutex
	runCtx context.Context // Run's context, for the feeders' store reads
	closed bool
	last   int64                      // ID of the newest event fanned out
	ring   []chat.Event               // every event with ID in (ringFrom, last], oldest first
	from   int64                      // see ring
	live   map[*subscription]struct{} // subscribers the hub sends to directly
	behind map[*subscription]struct{} // subscribers a feeder goroutine sends to
}

var _ chat.Feed = (*Hub)(nil)

// NewHub returns a hub over log. It delivers nothing until Run is called.
func NewHub(log chat.EventLog, logger *slog.Logger, opts Options) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		log:     log,
		logger:  logger,
		opts:    opts.withDefaults(),
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
		live:    make(map[*subscription]struct{}),
		behind:  make(map[*subscription]struct{}),
	}
}

// Run reads the event log on every wake-up of EventSignal, and every
// Options.Fallback in case one was lost, and fans what it reads out to the
// subscribers. It returns nil when ctx ends, after ending every subscription
// with chat.ErrFeedClosed; a store error is logged and retried, never fatal.
// It may be called only once.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("realtime: hub already running")
	}
	defer h.stop()
	if err := h.start(ctx); err != nil {
		return nil // ctx ended before the store answered
	}
	tick := time.NewTicker(h.opts.Fallback)
	defer tick.Stop()
	for {
		if err := h.catchUp(ctx); err != nil && ctx.Err() == nil {
			h.logger.WarnContext(ctx, "read event log", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.log.EventSignal():
		case <-tick.C:
		}
	}
}

// start learns the log's current position, retrying until the store answers.
func (h *Hub) start(ctx context.Context) error {
	for {
		last, err := h.log.LastEventID(ctx)
		if err == nil {
			h.mu.Lock()
			h.runCtx, h.last, h.from = ctx, last, last
			h.mu.Unlock()
			close(h.ready)
			return nil
		}
		h.logger.WarnContext(ctx, "read last event id", slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(h.opts.Fallback):
		}
	}
}

// catchUp reads and fans out events until the log has no more. Only Run
// writes h.last, so Run reads it without the lock.
func (h *Hub) catchUp(ctx context.Context) error {
	for {
		evs, err := h.log.EventsAfter(ctx, h.last, h.opts.Batch)
		if errors.Is(err, chat.ErrHistoryGone) {
			return h.skipPruned(ctx)
		}
		if err != nil {
			return fmt.Errorf("realtime: events after %d: %w", h.last, err)
		}
		if len(evs) == 0 {
			return nil
		}
		h.mu.Lock()
		h.fanOut(evs)
		h.mu.Unlock()
		if len(evs) < h.opts.Batch {
			return nil
		}
	}
}

// skipPruned handles the hub itself falling behind the log's retention: it
// jumps to the newest event and cuts every subscriber off, so that each
// resumes from its last event id and learns from the store what was lost.
func (h *Hub) skipPruned(ctx context.Context) error {
	last, err := h.log.LastEventID(ctx)
	if err != nil {
		return fmt.Errorf("realtime: last event id after pruning: %w", err)
	}
	h.logger.WarnContext(ctx, "event log pruned past the hub", slog.Int64("from", h.last), slog.Int64("to", last))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endAll(chat.ErrSlowConsumer)
	h.last, h.from, h.ring = last, last, nil
	return nil
}

// fanOut delivers evs to every live subscriber without ever blocking: one
// whose channel is full gets a feeder, and one that is more than Buffer
// events behind is cut off. Called with h.mu held.
func (h *Hub) fanOut(evs []chat.Event) {
	for s := range h.live {
		for _, e := range evs {
			if e.ID <= s.last {
				continue // a resumed subscriber already has it
			}
			select {
			case s.ch <- e:
				s.last = e.ID
			default:
				h.fallBehind(s)
			}
			if s.feeding {
				break
			}
		}
	}
	h.remember(evs)
	for s := range h.behind {
		if !s.replay && h.backlog(s) > h.opts.Buffer {
			h.end(s, chat.ErrSlowConsumer)
		}
	}
}

// remember appends evs to the ring. The ring keeps between Ring and 2*Ring
// events, so that dropping the oldest is a copy now and then rather than on
// every append. Called with h.mu held.
func (h *Hub) remember(evs []chat.Event) {
	h.ring = append(h.ring, evs...)
	h.last = evs[len(evs)-1].ID
	if len(h.ring) >= 2*h.opts.Ring {
		over := len(h.ring) - h.opts.Ring
		h.from = h.ring[over-1].ID
		h.ring = append([]chat.Event(nil), h.ring[over:]...)
	}
}

// ringAfter returns the ring's events with ID > id; ok is false when the ring
// does not reach back that far. Called with h.mu held.
func (h *Hub) ringAfter(id int64) (evs []chat.Event, ok bool) {
	if id < h.from {
		return nil, false
	}
	lo, hi := 0, len(h.ring)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if h.ring[mid].ID <= id {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return h.ring[lo:], true
}

// backlog is how many events s still lacks, or more than Buffer when it fell
// out of the ring. Called with h.mu held.
func (h *Hub) backlog(s *subscription) int {
	evs, ok := h.ringAfter(s.last)
	if !ok {
		return h.opts.Buffer + 1
	}
	return len(evs)
}

// Subscribers reports how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live) + len(h.behind)
}

// stop ends every subscription with chat.ErrFeedClosed and waits for the
// feeders to exit.
func (h *Hub) stop() {
	h.mu.Lock()
	h.closed = true
	h.endAll(chat.ErrFeedClosed)
	h.mu.Unlock()
	close(h.stopped)
	h.feeders.Wait()
}

// endAll ends every subscription with err. Called with h.mu held.
func (h *Hub) endAll(err error) {
	for s := range h.live {
		h.end(s, err)
	}
	for s := range h.behind {
		h.end(s, err)
	}
}

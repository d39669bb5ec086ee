package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"chatd/internal/chat"
)

// subscription is one subscriber. While it keeps up, the hub sends to ch
// directly, under h.mu and without blocking. While it is behind, a feeder
// goroutine sends to ch instead, blocking, and only that goroutine may close
// ch; so an idle subscriber costs a small channel and no goroutine.
type subscription struct {
	h    *Hub
	ch   chan chat.Event
	done chan struct{} // closed when the subscription ends

	// Guarded by h.mu.
	last    int64 // ID of the newest event put into ch, or the resume point
	feeding bool  // a feeder goroutine owns ch
	replay  bool  // resuming: not yet live, so not cut off for lagging
	ended   bool
	err     error
}

// Events delivers the events in ID order; it is closed when the subscription ends.
func (s *subscription) Events() <-chan chat.Event { return s.ch }

// Err says why the feed ended the subscription: chat.ErrSlowConsumer,
// chat.ErrFeedClosed, or nil while it runs or after Close.
func (s *subscription) Err() error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.err
}

// Close ends the subscription; it is safe to call more than once.
func (s *subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.end(s, nil)
}

// Subscribe returns a subscription delivering every event with ID > after:
// from the ring of recent events or the store first, then live, with no gap
// or duplicate at the hand-over (see attach). after < 0 starts at the hub's
// current position. It returns chat.ErrHistoryGone when the store no longer
// keeps those events, or when after is beyond the log's last event (the
// client saw another database), and chat.ErrFeedClosed after Run ended.
// It waits until Run has read the log's position. ctx bounds the call, not
// the subscription: Close ends that.
func (h *Hub) Subscribe(ctx context.Context, after int64) (chat.Subscription, error) {
	select {
	case <-h.ready:
	case <-h.stopped:
		return nil, chat.ErrFeedClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := h.checkResumePoint(ctx, after); err != nil {
		return nil, err
	}
	if after < 0 {
		// "From now" is where the log ends now, not where this hub has read
		// to: on a shared database the hub may not have been woken yet for
		// events other instances (or this one) just committed.
		last, err := h.log.LastEventID(ctx)
		if err != nil {
			return nil, fmt.Errorf("realtime: subscribe from now: %w", err)
		}
		after = last
	}
	s := &subscription{h: h, ch: make(chan chat.Event, chanSize), done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, chat.ErrFeedClosed
	}
	s.last, s.replay = after, true
	if _, ok := h.ringAfter(after); ok {
		h.attach(s)
		h.mu.Unlock()
		return s, nil
	}
	h.mu.Unlock()
	// Read the first batch here, so that ErrHistoryGone reaches the caller.
	first, err := h.log.EventsAfter(ctx, after, h.opts.Batch)
	if err != nil {
		return nil, fmt.Errorf("realtime: subscribe after event %d: %w", after, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, chat.ErrFeedClosed
	}
	h.startFeeder(s, first)
	return s, nil
}

// checkResumePoint returns chat.ErrHistoryGone for an after beyond the log's
// last event. Such an id is legitimate only while this hub lags the shared
// database; otherwise the client's history is not this log's, and it must
// reload rather than wait for ids it has already seen.
func (h *Hub) checkResumePoint(ctx context.Context, after int64) error {
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	if after <= last {
		return nil
	}
	newest, err := h.log.LastEventID(ctx)
	if err != nil {
		return fmt.Errorf("realtime: last event id: %w", err)
	}
	if after > newest {
		return fmt.Errorf("realtime: resume after event %d, the log ends at %d: %w", after, newest, chat.ErrHistoryGone)
	}
	return nil
}

// attach makes s live when the events it lacks fit its channel, and hands it
// to a feeder otherwise. The ring must reach back to s.last. Called with
// h.mu held, so no event can be fanned out in between: that is what makes the
// hand-over from catching up to live exact.
func (h *Hub) attach(s *subscription) {
	pending, _ := h.ringAfter(s.last)
	if len(pending) > cap(s.ch)-len(s.ch) {
		h.startFeeder(s, nil)
		return
	}
	for _, e := range pending {
		s.ch <- e
		s.last = e.ID
	}
	delete(h.behind, s)
	h.live[s] = struct{}{}
	s.replay = false
}

// fallBehind moves a live subscriber whose channel is full to a feeder.
// Called with h.mu held.
func (h *Hub) fallBehind(s *subscription) {
	delete(h.live, s)
	h.startFeeder(s, nil)
}

// startFeeder starts the goroutine that sends first, then what s still lacks.
// Called with h.mu held.
func (h *Hub) startFeeder(s *subscription, first []chat.Event) {
	h.behind[s] = struct{}{}
	if s.feeding {
		return
	}
	s.feeding = true
	h.feeders.Add(1)
	go h.feed(s, first)
}

// feed sends events to a subscriber that is behind, blocking as long as the
// subscriber reads, until it has caught up with the hub (then it is live
// again) or it ends.
func (h *Hub) feed(s *subscription, evs []chat.Event) {
	defer h.feeders.Done()
	for {
		for _, e := range evs {
			if !h.send(s, e) {
				break
			}
		}
		var more bool
		if evs, more = h.next(s); !more {
			return
		}
	}
}

// send blocks until s takes e or ends.
func (h *Hub) send(s *subscription, e chat.Event) bool {
	select {
	case s.ch <- e:
		h.mu.Lock()
		s.last = e.ID
		h.mu.Unlock()
		return true
	case <-s.done:
		return false
	}
}

// next returns the feeder's next batch for s, or false when the feeder is
// done: s ended (the feeder then closes ch) or caught up and went live.
func (h *Hub) next(s *subscription) ([]chat.Event, bool) {
	h.mu.Lock()
	if s.ended {
		s.feeding = false
		close(s.ch)
		h.mu.Unlock()
		return nil, false
	}
	if pending, ok := h.ringAfter(s.last); ok {
		defer h.mu.Unlock()
		if len(pending) <= cap(s.ch)-len(s.ch) {
			s.feeding = false
			h.attach(s)
			return nil, false
		}
		return slices.Clone(pending[:min(len(pending), h.opts.Batch)]), true
	}
	if !s.replay {
		// It fell out of the ring while behind: more than Buffer events.
		h.end(s, chat.ErrSlowConsumer)
		h.mu.Unlock()
		return nil, true
	}
	ctx, after := h.runCtx, s.last
	h.mu.Unlock()
	return h.replay(ctx, s, after), true
}

// replay reads the store for a subscriber resuming from before the ring. A
// failed read cuts it off like a slow consumer: it reconnects and resumes,
// and learns then if its history is gone.
func (h *Hub) replay(ctx context.Context, s *subscription, after int64) []chat.Event {
	evs, err := h.log.EventsAfter(ctx, after, h.opts.Batch)
	if err == nil && len(evs) == 0 {
		err = errors.New("log ended below the hub's ring")
	}
	if err != nil {
		reason := chat.ErrFeedClosed // Run's context ended: shutting down
		if ctx.Err() == nil {
			reason = chat.ErrSlowConsumer
			h.logger.WarnContext(ctx, "replay events", slog.Int64("after", after), slog.String("error", err.Error()))
		}
		h.mu.Lock()
		h.end(s, reason)
		h.mu.Unlock()
		return nil
	}
	return evs
}

// end ends s with err (nil for Close). Called with h.mu held.
func (h *Hub) end(s *subscription, err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	close(s.done)
	delete(h.live, s)
	delete(h.behind, s)
	if !s.feeding {
		close(s.ch)
	}
}

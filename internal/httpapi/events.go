package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"chatd/internal/chat"
)

// Timing of event streams.
const (
	// streamHeartbeat is how often an idle stream sends a comment, which keeps
	// proxies from closing it and rechecks the session.
	streamHeartbeat = 25 * time.Second
	// streamWriteTimeout bounds each write to a stream, replacing the
	// server's WriteTimeout (which would cut every stream), so that a client
	// that stopped reading does not hold its handler forever.
	streamWriteTimeout = 30 * time.Second
	// streamRetry is the reconnection delay the stream asks clients to use.
	streamRetry = "retry: 3000\n\n"
)

// eventTicket is the answer of POST /api/messages/events/ticket.
type eventTicket struct {
	Ticket string `json:"ticket"`
}

func handleEventTicket(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticket, err := svc.NewEventTicket(r.Context(), sessionFrom(r.Context()))
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, eventTicket{Ticket: ticket})
	})
}

func handleEvents(svc *chat.Service, feed chat.Feed, logger *slog.Logger) http.Handler {
	return handleEventsEvery(svc, feed, logger, streamHeartbeat)
}

// handleEventsEvery is handleEvents with the heartbeat interval as a
// parameter, for tests.
func handleEventsEvery(svc *chat.Service, feed chat.Feed, logger *slog.Logger, heartbeat time.Duration) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	frames := &frameCache{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess chat.Session
		var err error
		// Authentication reads the store, whose calls run deep: see shallow.
		shallow(func() { sess, err = streamSession(r, svc) })
		if err != nil {
			writeError(w, r, err)
			return
		}
		after, err := resumePoint(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var sub chat.Subscription
		var reset bool
		shallow(func() { sub, reset, err = subscribeFrom(r.Context(), feed, after) })
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer sub.Close()
		s := &stream{w: w, rc: http.NewResponseController(w), svc: svc, sess: sess, heartbeat: heartbeat, log: logger, frames: frames}
		err = s.run(r, sub, reset)
		logger.DebugContext(r.Context(), "event stream ended",
			slog.Int64("session", sess.ID), slog.String("reason", err.Error()))
	})
}

// streamSession authenticates a stream by its Authorization header or, for
// EventSource, which cannot send headers, by a single-use ticket.
func streamSession(r *http.Request, svc *chat.Service) (chat.Session, error) {
	if token := tokenFromRequest(r); token != "" {
		return svc.Authenticate(r.Context(), token)
	}
	return svc.RedeemEventTicket(r.Context(), r.URL.Query().Get("ticket"))
}

// resumePoint returns the last event id the client saw, from the
// Last-Event-ID header (what EventSource sends when it reconnects) or the
// lastEventId parameter (for a new EventSource that resumes), or -1 for none.
func resumePoint(r *http.Request) (int64, error) {
	field, s := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if s == "" {
		field, s = "lastEventId", r.URL.Query().Get("lastEventId")
	}
	if s == "" {
		return -1, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		v := &chat.ValidationError{}
		v.Add(field, "must be a non-negative integer")
		return 0, v
	}
	return id, nil
}

// subscribeFrom subscribes after the given event id. When those events are
// gone it subscribes from now on instead and reports reset, so that the
// client is told to reload rather than left with a silent gap.
func subscribeFrom(ctx context.Context, feed chat.Feed, after int64) (sub chat.Subscription, reset bool, err error) {
	sub, err = feed.Subscribe(ctx, after)
	if errors.Is(err, chat.ErrHistoryGone) {
		reset = true
		sub, err = feed.Subscribe(ctx, -1)
	}
	if errors.Is(err, chat.ErrFeedClosed) {
		err = chat.ErrUnavailable // shutting down: the client retries elsewhere or later
	}
	return sub, reset, err
}

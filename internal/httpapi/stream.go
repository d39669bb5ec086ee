package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"chatd/internal/chat"
)

// errSessionRevoked ends a stream whose session was revoked or expired.
var errSessionRevoked = errors.New("session revoked")

// shallow runs f on a goroutine of its own and waits for it. A stream's
// goroutine lives for hours and keeps the largest stack it ever grew, and the
// store's calls (SQLite especially) run deep; run there, they would grow every
// idle stream's stack to tens of KiB. A panic in f is raised again here, so
// the recovery middleware still sees it.
func shallow(f func()) {
	done := make(chan any)
	go func() {
		defer func() { done <- recover() }()
		f()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}

// stream writes one client's event stream.
type stream struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	svc       *chat.Service
	sess      chat.Session
	heartbeat time.Duration
	log       *slog.Logger
	frames    *frameCache
	// pending holds the frames to write next, shared ones from frames
	// included; element 0 is kept for the chunk header (see add).
	pending net.Buffers

	// conn is the connection once taken from net/http (see takeConn), nil
	// while the stream writes through w; chunked says whether its body is in
	// HTTP/1.1 chunks.
	conn     net.Conn
	chunked  bool
	deadline time.Time // the write deadline set on conn
}

// run streams sub's events until the session ends, the subscription ends
// (the client then resumes with Last-Event-ID) or the client goes away, and
// returns why it ended.
func (s *stream) run(r *http.Request, sub chat.Subscription, reset bool) error {
	ctx := r.Context()
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise hold events back
	s.takeConn(r)
	if s.conn != nil {
		defer s.closeConn()
	}
	s.add([]byte(streamRetry))
	if reset {
		s.add([]byte("event: reset\ndata: {}\n\n"))
	}
	if err := s.flush(); err != nil {
		return err
	}
	ping := time.NewTicker(s.heartbeat)
	defer ping.Stop()
	for {
		select {
		case e, ok := <-sub.Events():
			if err := s.event(e, ok, sub); err != nil {
				return err
			}
		case <-ping.C:
			if err := s.ping(ctx); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// takeConn sends the response head and takes the connection out of net/http, which otherwise keeps, for
// each of thousands of idle streams, a 4 KiB read buffer, a 4 KiB and a 2 KiB
// write buffer and a goroutine reading in the background. Hijacking after
// WriteHeader makes net/http send the response head itself, as it would have
// (status, the middleware's headers, chunked encoding on HTTP/1.1), so the
// request log still sees status 200. Without hijacking (HTTP/2, test
// recorders) the stream keeps writing through w.
//
// No goroutine reads the taken connection: a client that went away is
// noticed by the next write that fails, an event's or at the latest a
// heartbeat's (the first write after the client's FIN draws a reset, the
// next one fails). A reader would notice at once but cost a goroutine stack
// per stream for the whole stream's life, to save a gone client's subscription
// at most two heartbeats of lingering.
func (s *stream) takeConn(r *http.Request) {
	var conn net.Conn
	var rw *bufio.ReadWriter
	var err error
	// Writing the head takes a few KiB of stack (net/http's writeHeader
	// frame alone is 2.8 KiB): enough to double this goroutine's stack for
	// good, hence shallow.
	shallow(func() {
		s.w.WriteHeader(http.StatusOK)
		conn, rw, err = s.rc.Hijack()
	})
	if err != nil {
		return
	}
	// net/http keeps these two until the handler returns; emptying them frees
	// their buffers now. Nothing reads or writes them after a hijack.
	*rw.Reader = bufio.Reader{}
	*rw.Writer = bufio.Writer{}
	s.conn, s.chunked = conn, r.ProtoAtLeast(1, 1)
}

// closeConn ends a taken connection's body and closes it; net/http no longer
// does either.
func (s *stream) closeConn() {
	if s.chunked {
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = s.conn.Write([]byte("0\r\n\r\n"))
	}
	_ = s.conn.Close()
}

// event writes e, flushing once the subscription has nothing more queued so
// that a burst goes out in one write. ok false means sub ended.
func (s *stream) event(e chat.Event, ok bool, sub chat.Subscription) error {
	if !ok {
		if err := s.flush(); err != nil {
			return err
		}
		if err := sub.Err(); err != nil {
			return err // slow consumer or shutting down: the client reconnects
		}
		return chat.ErrFeedClosed
	}
	switch e.Type {
	case chat.EventMessageCreated, chat.EventMessageUpdated, chat.EventMessageDeleted, chat.EventUserUpdated:
		s.add(s.frames.frame(e))
	case chat.EventSessionsRevoked:
		if e.RevokesSession(s.sess.ID) {
			return s.revoked()
		}
	}
	if len(sub.Events()) > 0 {
		return nil
	}
	return s.flush()
}

// writeEvent appends e in the event-stream format. Data is one line of JSON
// from the store; should a store ever pretty-print it, each line gets its own
// "data:" so the event stays intact.
func writeEvent(buf *bytes.Buffer, e chat.Event) {
	buf.WriteString("id: ")
	buf.WriteString(strconv.FormatInt(e.ID, 10))
	buf.WriteString("\nevent: ")
	buf.WriteString(string(e.Type))
	for line := range bytes.Lines(e.Data) {
		buf.WriteString("\ndata: ")
		buf.Write(bytes.TrimRight(line, "\r\n"))
	}
	buf.WriteString("\n\n")
}

// ping sends the heartbeat comment, after checking that the session still
// exists: a revocation event can be missed (the stream was cut off and
// resumed past it) and idle expiry has no event of its own.
func (s *stream) ping(ctx context.Context) error {
	var err error
	shallow(func() { _, err = s.svc.CheckSession(ctx, s.sess) })
	if errors.Is(err, chat.ErrUnauthenticated) {
		return s.revoked()
	}
	if err != nil && ctx.Err() == nil {
		// The store is unavailable: say nothing now, check again next beat.
		s.log.WarnContext(ctx, "check stream session", slog.String("error", err.Error()))
	}
	s.add([]byte(": ping\n\n"))
	return s.flush()
}

// revoked sends the final session.revoked event.
func (s *stream) revoked() error {
	s.add([]byte("event: session.revoked\ndata: {}\n\n"))
	if err := s.flush(); err != nil {
		return err
	}
	return errSessionRevoked
}

// add queues frame for the next flush.
func (s *stream) add(frame []byte) {
	if len(s.pending) == 0 {
		s.pending = append(s.pending, nil) // the chunk header's place
	}
	s.pending = append(s.pending, frame)
}

// flush writes what is queued and pushes it to the client.
func (s *stream) flush() error {
	err := s.write()
	clear(s.pending) // drop the references to shared frames
	s.pending = s.pending[:0]
	return err
}

// write writes the queued frames. Each write gets its own deadline instead of
// the server's WriteTimeout.
func (s *stream) write() error {
	if s.conn != nil {
		return s.writeConn()
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	for _, p := range s.pending {
		if _, err := s.w.Write(p); err != nil {
			return err
		}
	}
	return s.rc.Flush()
}

// writeConn writes the queued frames to the taken connection, as one chunk on
// HTTP/1.1, in a single system call. The deadline is moved only once half of
// it has passed, as moving it costs about as much as the write itself: so a
// write may take between streamWriteTimeout/2 and streamWriteTimeout.
func (s *stream) writeConn() error {
	n := 0
	for _, p := range s.pending {
		n += len(p)
	}
	if n == 0 {
		return nil // an empty chunk would end the body
	}
	if now := time.Now(); s.deadline.Sub(now) < streamWriteTimeout/2 {
		s.deadline = now.Add(streamWriteTimeout)
		if err := s.conn.SetWriteDeadline(s.deadline); err != nil {
			return err
		}
	}
	bufs := s.pending
	if s.chunked {
		var head [18]byte
		bufs[0] = append(strconv.AppendInt(head[:0], int64(n), 16), "\r\n"...)
		bufs = append(bufs, []byte("\r\n"))
	}
	_, err := bufs.WriteTo(s.conn)
	return err
}

// frameCache holds the encoded frames of the latest events, shared by all the
// streams of a handler: an event fanned out to 10,000 streams is encoded once,
// and an idle stream keeps no buffer of its own.
type frameCache struct {
	mu     sync.Mutex
	recent [64]cachedFrame // a ring; next is the oldest
	next   int
}

type cachedFrame struct {
	id    int64
	frame []byte
}

// frame returns e in the event-stream format. The frame must not be modified.
func (c *frameCache) frame(e chat.Event) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range len(c.recent) { // newest first: usually the first look hits
		f := &c.recent[(c.next-1-i+2*len(c.recent))%len(c.recent)]
		if f.id == e.ID && f.frame != nil {
			return f.frame
		}
	}
	var buf bytes.Buffer
	writeEvent(&buf, e)
	c.recent[c.next] = cachedFrame{id: e.ID, frame: buf.Bytes()}
	c.next = (c.next + 1) % len(c.recent)
	return buf.Bytes()
}

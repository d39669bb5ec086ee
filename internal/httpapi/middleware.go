package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

type ctxKey int

const (
	loggerKey ctxKey = iota
	sessionKey
	clientAddrKey
)

// logger returns the request's logger, which carries its request id.
func logger(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withRequestLog gives each request an id and logs one line when it ends:
// method, route pattern (never the raw query, which may hold a ticket),
// status and duration.
func withRequestLog(next http.Handler, base *slog.Logger, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		log := base.With(slog.String("request_id", id))
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), loggerKey, log))
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unrouted"
		}
		elapsed := time.Since(start)
		m.observe(r.Method, route, rec.status, elapsed)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", rec.status), slog.Duration("duration", elapsed),
			slog.String("client", clientAddr(r)))
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withRecovery turns a panicking handler into a 500 and a log line, so the
// client gets an answer instead of a dropped connection.
func withRecovery(next http.Handler, base *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			logger(r).ErrorContext(r.Context(), "panic", slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())))
			writeStatus(w, r, http.StatusInternalServerError, "internal server error")
		}()
		next.ServeHTTP(w, r)
	})
}

// withCORS lets browser pages of other origins call the API. Tokens travel
// in a header, never in cookies, so allowing any origin opens no CSRF hole.
func withCORS(next http.Handler, allowed []string) http.Handler {
	anyOrigin := len(allowed) == 0 || slices.Contains(allowed, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		switch {
		case anyOrigin:
			h.Set("Access-Control-Allow-Origin", "*")
		case origin != "" && slices.Contains(allowed, origin):
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if !anyOrigin {
			// The answer depends on Origin, so caches must key on it.
			h.Add("Vary", "Origin")
		}
		h.Set("Access-Control-Expose-Headers", "Retry-After, ETag, X-Request-Id")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withClientAddr records the client's address: the peer's, or, when the peer
// is a trusted proxy, the nearest untrusted address in X-Forwarded-For.
func withClientAddr(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := resolveClientAddr(r, trusted)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey, addr)))
	})
}

func resolveClientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = hop.Unmap()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr.String()
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientAddr returns the address withClientAddr recorded.
func clientAddr(r *http.Request) string {
	addr, _ := r.Context().Value(clientAddrKey).(string)
	return addr
}

// Package httpapi serves chatd's HTTP API: routing, decoding, the contract's
// error shapes, and the middleware every request passes through.
package httpapi

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"net/netip"

	"chatd/internal/chat"
)

//go:embed openapi.yaml
var openAPIDocument []byte

// Config is what the API needs to serve.
type Config struct {
	Service *chat.Service
	// Feed wakes long polls and event streams.
	Feed chat.Feed
	// Ready reports whether the database answers, for /readyz.
	Ready  func(context.Context) error
	Logger *slog.Logger
	// Web serves the browser client at "/"; nil serves nothing there.
	Web http.Handler
	// AllowedOrigins lists the origins allowed by CORS; empty allows any.
	AllowedOrigins []string
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
}

// NewServer returns the whole HTTP API as one handler.
func NewServer(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	metrics := newMetrics(cfg.Feed)
	mux := http.NewServeMux()
	addRoutes(mux, cfg, metrics)
	h := withUnrouted(mux)
	h = withCORS(h, cfg.AllowedOrigins)
	h = withRecovery(h, cfg.Logger)
	h = withRequestLog(h, cfg.Logger, metrics)
	h = withClientAddr(h, cfg.TrustedProxies)
	return h
}

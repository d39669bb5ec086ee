package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"chatd/internal/avatar"
	"chatd/internal/chat"
	"chatd/internal/httpapi"
	"chatd/internal/postgres"
	"chatd/internal/realtime"
	"chatd/internal/sqlite"
	"chatd/internal/web"
)

// cleanupEvery is how often expired sessions, keys and events are deleted.
const cleanupEvery = time.Minute

// serve runs the server until ctx ends, then shuts down gracefully: streams
// and long polls are ended first, requests in flight finish, and the store is
// closed last.
func serve(ctx context.Context, cfg config, logOut io.Writer) error {
	log, err := newLogger(cfg, logOut)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := chat.NewService(store, chat.Config{
		SessionIdle:    cfg.sessionIdle,
		MinPasswordLen: cfg.passwordMin,
		Hasher:         chat.NewPasswordHasher(cfg.argon2, cfg.hashConcurrency),
		ProcessImage:   avatar.NewProcessor(cfg.imageConcurrency).Process,
		LoginLimit:     cfg.loginLimit,
	})
	if err != nil {
		return err
	}
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	hub := realtime.NewHub(store, log, realtime.Options{})
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(hubCtx) }()
	go cleanupLoop(hubCtx, svc, log)

	handler := httpapi.NewServer(httpapi.Config{
		Service: svc, Feed: hub, Ready: store.Ping, Logger: log, Web: web.Handler(),
		AllowedOrigins: cfg.corsOrigins, TrustedProxies: cfg.trustedProxies,
	})
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := newHTTPServer(handler, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("chatd listening", "addr", ln.Addr().String(), "db", describeDB(cfg.db))

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case err := <-hubDone:
		return fmt.Errorf("realtime hub stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopHub() // ends event streams and answers long polls
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-hubDone
	log.Info("stopped")
	return nil
}

// newHTTPServer sets every timeout, so slow clients cannot hold connections
// forever. WriteTimeout leaves room for a 60 s long poll; event streams lift
// it for themselves.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// openStore opens PostgreSQL for a postgres:// URL and SQLite for anything else.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (chat.Store, error) {
	if strings.HasPrefix(cfg.db, "postgres://") || strings.HasPrefix(cfg.db, "postgresql://") {
		s, err := postgres.Open(ctx, cfg.db, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, cfg.db, sqlite.Options{Synchronous: cfg.sqliteSync})
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.db, err)
	}
	return s, nil
}

// describeDB names the database for the log without a password in a URL.
func describeDB(db string) string {
	if i := strings.Index(db, "@"); i >= 0 && strings.Contains(db, "://") {
		return db[:strings.Index(db, "://")+3] + "…" + db[i:]
	}
	return db
}

func cleanupLoop(ctx context.Context, svc *chat.Service, log *slog.Logger) {
	t := time.NewTicker(cleanupEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := svc.Cleanup(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("cleanup failed", "error", err)
			}
		}
	}
}

func newLogger(cfg config, out io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.logFormat
	if format == "auto" {
		format = "json"
		if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(out, opts)), nil
	}
	return nil, fmt.Errorf("-log-format: %q is not auto, text or json", cfg.logFormat)
}

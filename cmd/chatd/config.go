package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"chatd/internal/chat"
)

// config is every option of chatd serve. Each has a flag and a CHATD_*
// environment variable; a flag wins over the variable, which wins over the
// default.
type config struct {
	addr             string
	db               string
	sqliteSync       string
	logFormat        string
	logLevel         string
	sessionIdle      time.Duration
	passwordMin      int
	loginLimit       chat.LoginLimit
	corsOrigins      []string
	trustedProxies   []netip.Prefix
	argon2           chat.Argon2Params
	hashConcurrency  int
	imageConcurrency int
	shutdownTimeout  time.Duration
}

// parseConfig reads flags from args with defaults taken from getenv.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: chatd [flags]\n       chatd migrate-data -h   (move a SQLite deployment to PostgreSQL)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.addr, "addr", env("CHATD_ADDR", ":8080"), "listen address (CHATD_ADDR)")
	fs.StringVar(&c.db, "db", env("CHATD_DB", "./data/chatd.db"),
		"SQLite file path, or a postgres:// URL (CHATD_DB)")
	fs.StringVar(&c.sqliteSync, "sqlite-synchronous", env("CHATD_SQLITE_SYNCHRONOUS", "FULL"),
		"SQLite synchronous mode: FULL survives power loss, NORMAL only crashes (CHATD_SQLITE_SYNCHRONOUS)")
	fs.StringVar(&c.logFormat, "log-format", env("CHATD_LOG_FORMAT", "auto"),
		"log format: auto (text on a terminal, else json), text or json (CHATD_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", env("CHATD_LOG_LEVEL", "info"), "debug, info, warn or error (CHATD_LOG_LEVEL)")
	sessionIdle := fs.String("session-idle", env("CHATD_SESSION_IDLE", "720h"),
		"sessions expire after this long unused (CHATD_SESSION_IDLE)")
	passwordMin := fs.String("password-min", env("CHATD_PASSWORD_MIN", strconv.Itoa(chat.PasswordMinLen)),
		"minimum password length in characters, at least 3 (CHATD_PASSWORD_MIN)")
	loginLimit := fs.String("login-limit", env("CHATD_LOGIN_LIMIT", "10/100/15m"),
		"failed logins allowed per login/per client address/window, or off (CHATD_LOGIN_LIMIT)")
	cors := fs.String("cors-origins", env("CHATD_CORS_ORIGINS", "*"),
		"comma-separated origins allowed to call the API, * for any (CHATD_CORS_ORIGINS)")
	proxies := fs.String("trusted-proxies", env("CHATD_TRUSTED_PROXIES", ""),
		"comma-separated CIDRs whose X-Forwarded-For is trusted (CHATD_TRUSTED_PROXIES)")
	argonMem := fs.String("argon2-memory", env("CHATD_ARGON2_MEMORY", "19456"),
		"argon2id memory in KiB, at least 19456 (CHATD_ARGON2_MEMORY)")
	argonTime := fs.String("argon2-time", env("CHATD_ARGON2_TIME", "2"),
		"argon2id passes, at least 2 (CHATD_ARGON2_TIME)")
	hashes := fs.String("hash-concurrency", env("CHATD_HASH_CONCURRENCY", strconv.Itoa(runtime.NumCPU())),
		"password hashes computed at once; more wait (CHATD_HASH_CONCURRENCY)")
	images := fs.String("image-concurrency", env("CHATD_IMAGE_CONCURRENCY", "2"),
		"avatar images decoded at once; more wait (CHATD_IMAGE_CONCURRENCY)")
	shutdown := fs.String("shutdown-timeout", env("CHATD_SHUTDOWN_TIMEOUT", "15s"),
		"how long requests in flight may finish on shutdown (CHATD_SHUTDOWN_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	c.sessionIdle = parseDuration(&errs, "session-idle", *sessionIdle)
	c.shutdownTimeout = parseDuration(&errs, "shutdown-timeout", *shutdown)
	c.passwordMin = parseInt(&errs, "password-min", *passwordMin, chat.PasswordMinLen, chat.PasswordMaxLen)
	c.argon2 = chat.Argon2Params{
		MemoryKiB: uint32(parseInt(&errs, "argon2-memory", *argonMem, int(chat.OWASPArgon2Params().MemoryKiB), 4<<20)),
		Time:      uint32(parseInt(&errs, "argon2-time", *argonTime, int(chat.OWASPArgon2Params().Time), 100)),
		Threads:   chat.OWASPArgon2Params().Threads,
	}
	c.hashConcurrency = parseInt(&errs, "hash-concurrency", *hashes, 1, 1024)
	c.imageConcurrency = parseInt(&errs, "image-concurrency", *images, 1, 1024)
	if sync := strings.ToUpper(c.sqliteSync); sync != "FULL" && sync != "NORMAL" {
		errs = append(errs, fmt.Errorf("-sqlite-synchronous: %q is not FULL or NORMAL", c.sqliteSync))
	}
	c.loginLimit = parseLoginLimit(&errs, *loginLimit)
	c.corsOrigins = splitList(*cors)
	c.trustedProxies = parsePrefixes(&errs, *proxies)
	return c, errors.Join(errs...)
}

func parseDuration(errs *[]error, name, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("-%s: %q is not a positive duration", name, s))
	}
	return d
}

func parseInt(errs *[]error, name, s string, lo, hi int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		*errs = append(*errs, fmt.Errorf("-%s: %q is not an integer from %d to %d", name, s, lo, hi))
	}
	return n
}

// parseLoginLimit reads "PERLOGIN/PERADDRESS/WINDOW" (e.g. 10/100/15m) or "off".
func parseLoginLimit(errs *[]error, s string) chat.LoginLimit {
	if s == "off" {
		return chat.LoginLimit{}
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		*errs = append(*errs, fmt.Errorf("-login-limit: %q is not PERLOGIN/PERADDRESS/WINDOW or off", s))
		return chat.LoginLimit{}
	}
	return chat.LoginLimit{
		Enabled:    true,
		PerLogin:   parseInt(errs, "login-limit", parts[0], 1, 1<<30),
		PerAddress: parseInt(errs, "login-limit", parts[1], 1, 1<<30),
		Window:     parseDuration(errs, "login-limit", parts[2]),
	}
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func parsePrefixes(errs *[]error, s string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range splitList(s) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("-trusted-proxies: %w", err))
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

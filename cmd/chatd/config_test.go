package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/netip"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"chatd/internal/chat"
)

// defaultConfig is chatd's configuration with no flags and no environment.
func defaultConfig() config {
	return config{
		addr:             ":8080",
		db:               "./data/chatd.db",
		sqliteSync:       "FULL",
		logFormat:        "auto",
		logLevel:         "info",
		sessionIdle:      30 * 24 * time.Hour,
		passwordMin:      3,
		loginLimit:       chat.LoginLimit{Enabled: true, PerLogin: 10, PerAddress: 100, Window: 15 * time.Minute},
		corsOrigins:      []string{"*"},
		argon2:           chat.Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1}, // OWASP's minimum
		hashConcurrency:  runtime.NumCPU(),
		imageConcurrency: 2,
		shutdownTimeout:  15 * time.Second,
	}
}

// envOf returns a getenv that knows only vars.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*config) // applied to defaultConfig()
	}{
		{name: "defaults", want: func(*config) {}},
		{
			name: "every CHATD_ variable",
			env: map[string]string{
				"CHATD_ADDR":               "127.0.0.1:9000",
				"CHATD_DB":                 "postgres://chat@db/chat",
				"CHATD_SQLITE_SYNCHRONOUS": "NORMAL",
				"CHATD_LOG_FORMAT":         "text",
				"CHATD_LOG_LEVEL":          "debug",
				"CHATD_SESSION_IDLE":       "48h",
				"CHATD_PASSWORD_MIN":       "12",
				"CHATD_LOGIN_LIMIT":        "5/50/1m",
				"CHATD_CORS_ORIGINS":       "https://a.example, https://b.example",
				"CHATD_TRUSTED_PROXIES":    "10.0.0.0/8,fd00::1/64",
				"CHATD_ARGON2_MEMORY":      "65536",
				"CHATD_ARGON2_TIME":        "3",
				"CHATD_HASH_CONCURRENCY":   "7",
				"CHATD_IMAGE_CONCURRENCY":  "5",
				"CHATD_SHUTDOWN_TIMEOUT":   "3s",
			},
			want: func(c *config) {
				c.addr, c.db, c.sqliteSync = "127.0.0.1:9000", "postgres://chat@db/chat", "NORMAL"
				c.logFormat, c.logLevel = "text", "debug"
				c.sessionIdle, c.passwordMin = 48*time.Hour, 12
				c.loginLimit = chat.LoginLimit{Enabled: true, PerLogin: 5, PerAddress: 50, Window: time.Minute}
				c.corsOrigins = []string{"https://a.example", "https://b.example"}
				c.trustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/64")}
				c.argon2 = chat.Argon2Params{MemoryKiB: 65536, Time: 3, Threads: 1}
				c.hashConcurrency, c.imageConcurrency, c.shutdownTimeout = 7, 5, 3*time.Second
			},
		},
		{
			name: "a flag wins over its variable",
			args: []string{"-addr", ":1", "-login-limit", "off", "-session-idle", "1h", "-argon2-time", "4"},
			env: map[string]string{
				"CHATD_ADDR": ":2", "CHATD_LOGIN_LIMIT": "5/50/1m", "CHATD_SESSION_IDLE": "2h", "CHATD_ARGON2_TIME": "5",
			},
			want: func(c *config) {
				c.addr, c.loginLimit, c.sessionIdle, c.argon2.Time = ":1", chat.LoginLimit{}, time.Hour, 4
			},
		},
		{
			name: "an empty variable is unset",
			env:  map[string]string{"CHATD_ADDR": "", "CHATD_LOGIN_LIMIT": ""},
			want: func(*config) {},
		},
		{
			name: "login limit off",
			args: []string{"-login-limit", "off"},
			want: func(c *config) { c.loginLimit = chat.LoginLimit{} },
		},
		{
			name: "login limit off from the environment",
			env:  map[string]string{"CHATD_LOGIN_LIMIT": "off"},
			want: func(c *config) { c.loginLimit = chat.LoginLimit{} },
		},
		{
			name: "any CORS origin and no trusted proxies",
			args: []string{"-cors-origins", " * ", "-trusted-proxies", ""},
			want: func(*config) {},
		},
		{
			name: "proxy prefixes are masked",
			args: []string{"-trusted-proxies", "192.168.1.7/24"},
			want: func(c *config) { c.trustedProxies = []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseConfig(tt.args, envOf(tt.env), &stderr)
			if err != nil {
				t.Fatalf("parseConfig: %v; stderr %s", err, stderr.String())
			}
			want := defaultConfig()
			tt.want(&want)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(config{}), cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // each must appear in the error
	}{
		{name: "bad duration", args: []string{"-session-idle", "soon"}, want: []string{"-session-idle", `"soon"`}},
		{name: "zero duration", args: []string{"-shutdown-timeout", "0s"}, want: []string{"-shutdown-timeout"}},
		{name: "negative duration", args: []string{"-session-idle", "-1h"}, want: []string{"-session-idle"}},
		{name: "argon2 memory below OWASP", args: []string{"-argon2-memory", "19455"}, want: []string{"-argon2-memory"}},
		{name: "argon2 time below OWASP", args: []string{"-argon2-time", "1"}, want: []string{"-argon2-time"}},
		{name: "argon2 memory not a number", args: []string{"-argon2-memory", "19MiB"}, want: []string{"-argon2-memory"}},
		{name: "bad CIDR", args: []string{"-trusted-proxies", "10.0.0.0/33"}, want: []string{"-trusted-proxies"}},
		{name: "address is not a CIDR", args: []string{"-trusted-proxies", "10.0.0.1"}, want: []string{"-trusted-proxies"}},
		{name: "password minimum below 3", args: []string{"-password-min", "2"}, want: []string{"-password-min"}},
		{name: "password minimum above the maximum", args: []string{"-password-min", "257"}, want: []string{"-password-min"}},
		{name: "login limit of two parts", args: []string{"-login-limit", "10/100"}, want: []string{"-login-limit"}},
		{name: "login limit not a number", args: []string{"-login-limit", "ten/100/15m"}, want: []string{"-login-limit"}},
		{name: "login limit zero", args: []string{"-login-limit", "0/100/15m"}, want: []string{"-login-limit"}},
		{name: "login limit bad window", args: []string{"-login-limit", "10/100/soon"}, want: []string{"-login-limit"}},
		// Checked at parse time so that a bad value fails even with a
		// postgres:// -db, which never reads it.
		{name: "unknown sqlite synchronous mode", args: []string{"-sqlite-synchronous", "sometimes"}, want: []string{"-sqlite-synchronous"}},
		{name: "no hash workers", args: []string{"-hash-concurrency", "0"}, want: []string{"-hash-concurrency"}},
		{name: "no image workers", args: []string{"-image-concurrency", "0"}, want: []string{"-image-concurrency"}},
		{name: "bad value from a variable", env: map[string]string{"CHATD_ARGON2_TIME": "1"}, want: []string{"-argon2-time"}},
		{
			name: "every bad value is reported",
			args: []string{"-session-idle", "x", "-argon2-time", "1", "-trusted-proxies", "nope"},
			want: []string{"-session-idle", "-argon2-time", "-trusted-proxies"},
		},
		{name: "unknown flag", args: []string{"-no-such-flag"}, want: []string{"no-such-flag"}},
		{name: "stray argument", args: []string{"serve"}, want: []string{`"serve"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, envOf(tt.env), io.Discard)
			if err == nil {
				t.Fatalf("parseConfig(%q): got no error, want one naming %q", tt.args, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("parseConfig(%q): got error %q, want it to name %q", tt.args, err, w)
				}
			}
		})
	}
}

// TestRunRejectsBadServeOptions covers the options checked when serving
// starts; each must fail before anything listens, naming its flag.
func TestRunRejectsBadServeOptions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"log format", []string{"-log-format", "xml"}, "-log-format"},
		{"log level", []string{"-log-level", "loud"}, "-log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			db := filepath.Join(t.TempDir(), "chatd.db")
			args := append([]string{"-addr", "127.0.0.1:0", "-db", db}, tt.args...)
			err := run(ctx, args, hermeticEnv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q): got error %v, want one naming %s", args, err, tt.want)
			}
		})
	}
}

// TestHelp checks that -h is not a failure and that it documents every flag
// with the variable that sets it.
func TestHelp(t *testing.T) {
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"-h"}, hermeticEnv, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: got error %v, want flag.ErrHelp", err)
	}
	usage := flagUsages(stderr.String())
	for _, name := range []string{
		"addr", "db", "sqlite-synchronous", "log-format", "log-level", "session-idle", "password-min",
		"login-limit", "cors-origins", "trusted-proxies", "argon2-memory", "argon2-time",
		"hash-concurrency", "image-concurrency", "shutdown-timeout",
	} {
		if _, ok := usage[name]; !ok {
			t.Errorf("-h does not list -%s; output:\n%s", name, stderr.String())
		}
	}
	for name, text := range usage {
		env := "(CHATD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + ")"
		if !strings.Contains(text, env) {
			t.Errorf("-h: -%s does not name its variable %s: %q", name, env, text)
		}
	}
}

// flagUsages reads flag.PrintDefaults output into flag name -> usage text.
func flagUsages(out string) map[string]string {
	flagLine := regexp.MustCompile(`^  -([a-z0-9-]+)`)
	usages := map[string]string{}
	var current string
	for _, line := range strings.Split(out, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil {
			current = m[1]
			usages[current] = line[len(m[0]):]
			continue
		}
		if current != "" && strings.HasPrefix(line, "    \t") {
			usages[current] += " " + strings.TrimSpace(line)
		}
	}
	return usages
}

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatd/internal/avatar"
	"chatd/internal/chat"
	"chatd/internal/httpapi"
	"chatd/internal/realtime"
	"chatd/internal/sqlite"
)

// newChatd serves the real API on a SQLite file in t.TempDir().
func newChatd(t *testing.T) string {
	t.Helper()
	return newChatds(t, 1)[0]
}

// newChatds serves n API instances over one store, as instances behind a
// load balancer share one database; each has its own metrics.
func newChatds(t *testing.T, n int) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	svc, err := chat.NewService(store, chat.Config{
		ProcessImage: avatar.NewProcessor(1).Process,
		Hasher:       chat.NewPasswordHasher(chat.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 2),
	})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	hub := realtime.NewHub(store, nil, realtime.Options{})
	done := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(done) }()
	var urls []string
	var servers []*httptest.Server
	for range n {
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Service: svc, Feed: hub, Ready: store.Ping}))
		servers, urls = append(servers, srv), append(urls, srv.URL)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		for _, srv := range servers {
			srv.Close()
		}
		store.Close()
	})
	return urls
}

func runBench(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("chatbench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func TestSubscribersDeliversToEveryStream(t *testing.T) {
	addr := newChatd(t)
	out := runBench(t, "subscribers", "-addr", addr, "-n", "50", "-m", "3", "-every", "10ms",
		"-settle", "10ms", "-pid", strconv.Itoa(os.Getpid()))
	for _, want := range []string{
		"opened 50 streams", "KiB per idle stream", "50 streams x 3 messages): n=150 ", "missing 0",
		"CPU over ", "chatd ", "other processes ", "fan-out (first stream's read to each stream's read): n=150 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("got output\n%s\nwant it to contain %q", out, want)
		}
	}
}

func TestLoadReportsRates(t *testing.T) {
	addr := newChatd(t)
	out := runBench(t, "load", "-addr", addr, "-c", "4", "-d", "300ms", "-ceiling")
	rate := regexp.MustCompile(`(?m)^(post|list50) +(\d+) req/s  ok=(\d+) failed=0`)
	if got := rate.FindAllStringSubmatch(out, -1); len(got) != 4 {
		t.Fatalf("got output\n%s\nwant 4 lines of rates without failures", out)
	}
	if !strings.Contains(out, "chatd reaches") {
		t.Errorf("got output\n%s\nwant the ratio to the ceiling", out)
	}
}

// TestLoadSpreadsOverInstances: with several addresses every instance
// serves both phases.
func TestLoadSpreadsOverInstances(t *testing.T) {
	addrs := newChatds(t, 2)
	out := runBench(t, "load", "-addr", strings.Join(addrs, ","), "-c", "4", "-d", "300ms")
	if !strings.Contains(out, "failed=0") {
		t.Fatalf("got output\n%s\nwant rates without failures", out)
	}
	for _, addr := range addrs {
		resp, err := http.Get(addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, route := range []string{`route="POST /api/messages"`, `route="GET /api/messages"`} {
			if !strings.Contains(string(body), route) {
				t.Errorf("instance %s served no %s", addr, route)
			}
		}
	}
}

func TestRefusesOtherMachines(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"https://127.0.0.1:8080", false},
		{"127.0.0.1:8080", false},
	} {
		if _, err := checkLoopback(tc.addr); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q): got error %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := summary{n: 100, p50: 51 * time.Millisecond, p99: 100 * time.Millisecond, max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (summary{}) {
		t.Errorf("summarize(nil): got %+v, want zero", got)
	}
}

func TestLatencies(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	streams := []*benchStream{
		{got: []int64{ms(30), 0}},
		{got: []int64{ms(10), ms(50)}},
	}
	lat, spread, missing := latencies(streams, []time.Duration{5 * time.Millisecond, 40 * time.Millisecond})
	wantLat := []time.Duration{25 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond}
	wantSpread := []time.Duration{20 * time.Millisecond, 0, 0}
	if !slices.Equal(lat, wantLat) || !slices.Equal(spread, wantSpread) || missing != 1 {
		t.Errorf("got latencies %v, spread %v, missing %d; want %v, %v, 1", lat, spread, missing, wantLat, wantSpread)
	}
}

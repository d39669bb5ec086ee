package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig holds the flags of the load command.
type loadConfig struct {
	addr    string
	c       int
	d       time.Duration
	ceiling bool
}

func parseLoad(args []string, stderr io.Writer) (loadConfig, error) {
	var c loadConfig
	fs := newFlagSet("load", stderr, &c.addr)
	fs.IntVar(&c.c, "c", 32, "concurrent clients")
	fs.DurationVar(&c.d, "d", 10*time.Second, "duration of each phase")
	fs.BoolVar(&c.ceiling, "ceiling", false, "also measure a bare net/http handler in this process serving the same bytes, and report chatd's share of it")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.c < 1 || c.d <= 0 {
		return c, errors.New("-c and -d must be positive")
	}
	return c, nil
}

// phase is one kind of request measured for a while.
type phase struct {
	name   string
	method string
	path   string
	form   url.Values
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseLoad(args, stderr)
	if err != nil {
		return err
	}
	// Several comma-separated addresses spread the clients round-robin over
	// instances that share one database, as a load balancer would.
	var apis []*api
	for _, addr := range strings.Split(c.addr, ",") {
		u, err := checkLoopback(strings.TrimSpace(addr))
		if err != nil {
			return err
		}
		apis = append(apis, newAPI(u.String(), c.c))
	}
	token, err := apis[0].newUser(ctx)
	if err != nil {
		return err
	}
	phases := []phase{
		{name: "post", method: "POST", path: "/api/messages", form: url.Values{"text": {"chatbench load"}}},
		{name: "list50", method: "GET", path: "/api/messages?limit=50"},
	}
	fmt.Fprintf(stdout, "chatd at %s, %d clients, %s per phase\n", c.addr, c.c, c.d)
	results := make([]result, len(phases))
	for i, p := range phases {
		results[i] = measure(ctx, c, func(ctx context.Context, client int) ([]byte, error) {
			return apis[client%len(apis)].do(ctx, p.method, p.path, token, p.form)
		})
		fmt.Fprintf(stdout, "%-7s %s\n", p.name, results[i])
	}
	if !c.ceiling {
		return nil
	}
	return runCeiling(ctx, c, phases, results, stdout)
}

// runCeiling serves the bytes chatd answered from a bare handler in this
// process and runs the same phases against it: what the HTTP stack and this
// client manage on this machine with no work behind them.
func runCeiling(ctx context.Context, c loadConfig, phases []phase, chatd []result, stdout io.Writer) error {
	mux := http.NewServeMux()
	for i, p := range phases {
		body := chatd[i].sample
		mux.HandleFunc(p.method+" /api/messages", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(body)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the ceiling: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	a := newAPI("http://"+ln.Addr().String(), c.c)
	// It shares this process's CPU with the client, while chatd runs apart:
	// the ratio understates chatd on a machine with spare cores.
	fmt.Fprintln(stdout, "ceiling: bare net/http handler in this process (sharing the client's CPU), same response bytes")
	for i, p := range phases {
		r := measure(ctx, c, func(ctx context.Context, _ int) ([]byte, error) {
			return a.do(ctx, p.method, p.path, "token", p.form)
		})
		fmt.Fprintf(stdout, "%-7s %s; chatd reaches %.1f%% of it\n", p.name, r, 100*chatd[i].rate()/r.rate())
	}
	return nil
}

// result is what one phase measured.
type result struct {
	ok, failed int
	elapsed    time.Duration
	latency    summary
	firstErr   error
	sample     []byte // one answer, for the ceiling
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) String() string {
	s := fmt.Sprintf("%8.0f req/s  ok=%d failed=%d  latency %s", r.rate(), r.ok, r.failed, r.latency)
	if r.firstErr != nil {
		s += fmt.Sprintf("  (first error: %v)", r.firstErr)
	}
	return s
}

// measure runs op from c.c goroutines for c.d; op learns which client it runs for.
func measure(ctx context.Context, c loadConfig, op func(ctx context.Context, client int) ([]byte, error)) result {
	ctx, cancel := context.WithTimeout(ctx, c.d)
	defer cancel()
	var (
		mu     sync.Mutex
		res    result
		lats   []time.Duration
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	start := time.Now()
	for client := range c.c {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				body, err := op(ctx, client)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						mu.Lock()
						res.firstErr = cmpErr(res.firstErr, err)
						mu.Unlock()
					}
					continue
				}
				mine = append(mine, time.Since(t0))
				if len(mine) == 1 {
					mu.Lock()
					res.sample = cmpBody(res.sample, body)
					mu.Unlock()
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ok, res.failed, res.latency = len(lats), int(failed.Load()), summarize(lats)
	return res
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func cmpBody(first, body []byte) []byte {
	if first != nil {
		return first
	}
	return body
}

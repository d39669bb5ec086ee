package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// subscribersConfig holds the flags of the subscribers command.
type subscribersConfig struct {
	addr             string
	n, m, pid        int
	every, settle    time.Duration
	timeout          time.Duration
	openConcurrently int
}

func parseSubscribers(args []string, stderr io.Writer) (subscribersConfig, error) {
	var c subscribersConfig
	fs := newFlagSet("subscribers", stderr, &c.addr)
	fs.IntVar(&c.n, "n", 10000, "event streams to open")
	fs.IntVar(&c.m, "m", 20, "messages to post once the streams are open")
	fs.IntVar(&c.pid, "pid", 0, "chatd's process id, to report its memory per idle stream")
	fs.DurationVar(&c.every, "every", 200*time.Millisecond, "pause between posts")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "wait after opening the streams before measuring memory")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long to wait for every delivery after the last post")
	fs.IntVar(&c.openConcurrently, "open-concurrency", 64, "streams opened at once")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.n < 1 || c.m < 1 || c.openConcurrently < 1 {
		return c, errors.New("-n, -m and -open-concurrency must be positive")
	}
	return c, nil
}

func runSubscribers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseSubscribers(args, stderr)
	if err != nil {
		return err
	}
	u, err := checkLoopback(c.addr)
	if err != nil {
		return err
	}
	if limit, err := raiseOpenFiles(uint64(c.n) + 256); err != nil || limit < uint64(c.n)+64 {
		return fmt.Errorf("need %d open files, have %d (raise the hard limit): %v", c.n+64, limit, err)
	}
	a := newAPI(u.String(), 4)
	token, err := a.newUser(ctx)
	if err != nil {
		return err
	}
	var rssBefore int64
	if c.pid > 0 {
		if rssBefore, err = rssKiB(c.pid); err != nil {
			return err
		}
	}
	start := time.Now()
	streams, err := openStreams(ctx, u, token, c)
	defer func() {
		for _, s := range streams {
			s.conn.Close()
		}
	}()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "opened %d streams in %s\n", len(streams), round(time.Since(start)))
	if c.pid > 0 {
		time.Sleep(c.settle)
		rss, err := rssKiB(c.pid)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "server RSS %d KiB -> %d KiB: %.1f KiB per idle stream\n",
			rssBefore, rss, float64(rss-rssBefore)/float64(len(streams)))
	}
	return deliver(ctx, a, token, streams, c, stdout)
}

// deliver posts c.m messages and reports how long each took to reach every
// stream, counted from just before its POST was sent.
func deliver(ctx context.Context, a *api, token string, streams []*benchStream, c subscribersConfig, stdout io.Writer) error {
	base := time.Now()
	runID := strconv.FormatInt(base.UnixNano(), 36)
	sent := make([]time.Duration, c.m)
	var wg sync.WaitGroup
	for _, s := range streams {
		s.got = make([]int64, c.m)
		wg.Go(func() { s.read(runID, base) })
	}
	cpu0, err := readCPU(c.pid)
	if err != nil {
		return err
	}
	var posts []time.Duration
	for i := range c.m {
		t0 := time.Now()
		sent[i] = t0.Sub(base)
		text := fmt.Sprintf("chatbench %s %d", runID, i)
		if _, err := a.do(ctx, "POST", "/api/messages", token, url.Values{"text": {text}}); err != nil {
			return err
		}
		posts = append(posts, time.Since(t0))
		time.Sleep(c.every)
	}
	waitOrClose(&wg, streams, c.timeout)
	cpu1, err := readCPU(c.pid)
	if err != nil {
		return err
	}
	lat, spread, missing := latencies(streams, sent)
	fmt.Fprintf(stdout, "posts: %s\n", summarize(posts))
	fmt.Fprintf(stdout, "delivery (post start to event read, %d streams x %d messages): %s; missing %d\n",
		len(streams), c.m, summarize(lat), missing)
	fmt.Fprintf(stdout, "fan-out (first stream's read to each stream's read): %s\n", summarize(spread))
	fmt.Fprintln(stdout, cpuReport(cpu0, cpu1, time.Since(base)))
	return nil
}

// latencies returns each delivery's time from its post's start and from the
// first delivery of the same message, and how many never arrived. The second
// leaves out the post itself (a database commit, whose fsync can take as long
// as the whole fan-out on a busy disk) and shows the fan-out alone.
func latencies(streams []*benchStream, sent []time.Duration) (lat, spread []time.Duration, missing int) {
	first := make([]int64, len(sent))
	for _, s := range streams {
		for i, at := range s.got {
			if at != 0 && (first[i] == 0 || at < first[i]) {
				first[i] = at
			}
		}
	}
	for _, s := range streams {
		for i, at := range s.got {
			if at == 0 {
				missing++
				continue
			}
			lat = append(lat, time.Duration(at)-sent[i])
			spread = append(spread, time.Duration(at-first[i]))
		}
	}
	return lat, spread, missing
}

// waitOrClose waits for the readers, closing their connections when they
// are not done within timeout.
func waitOrClose(wg *sync.WaitGroup, streams []*benchStream, timeout time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		for _, s := range streams {
			s.conn.Close()
		}
		<-done
	}
}

// benchStream is one event stream on its own connection. It speaks HTTP/1.1
// over a bare net.Conn, so each stream costs the tool one goroutine, not the
// three of an http.Transport connection.
type benchStream struct {
	conn net.Conn
	body *bufio.Reader
	got  []int64 // per message: when it arrived, in ns since the run began
}

func openStreams(ctx context.Context, u *url.URL, token string, c subscribersConfig) ([]*benchStream, error) {
	streams := make([]*benchStream, c.n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range c.openConcurrently {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < c.n; i = int(next.Add(1)) - 1 {
				s, err := openStream(ctx, u, token)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("stream %d: %w", i, err) })
					return
				}
				streams[i] = s
			}
		})
	}
	wg.Wait()
	opened := streams[:0]
	for _, s := range streams {
		if s != nil {
			opened = append(opened, s)
		}
	}
	return opened, firstErr
}

func openStream(ctx context.Context, u *url.URL, token string) (*benchStream, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("GET", u.String()+"/api/messages/events", nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Accept", "text/event-stream")
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 2048), req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("open event stream: status %s", resp.Status)
	}
	s := &benchStream{conn: conn, body: bufio.NewReaderSize(resp.Body, 1024)}
	// The preamble (retry:) is written once the server has subscribed.
	if _, err := s.body.ReadString('\n'); err != nil {
		conn.Close()
		return nil, fmt.Errorf("read stream preamble: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

// read records the arrival of every message of this run until all arrived
// or the connection ends. It finds the message's number by a byte search
// rather than decoding its JSON: the tool shares the cores with chatd, and
// every microsecond it spends per event shows up as chatd's latency.
func (s *benchStream) read(runID string, base time.Time) {
	prefix := []byte(`"chatbench ` + runID + ` `)
	left := len(s.got)
	for left > 0 {
		line, err := s.body.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue
		}
		_, rest, ok := bytes.Cut(data, prefix)
		end := bytes.IndexByte(rest, '"')
		if !ok || end < 0 {
			continue
		}
		i, err := strconv.Atoi(string(rest[:end]))
		if err == nil && i >= 0 && i < len(s.got) && s.got[i] == 0 {
			s.got[i] = int64(time.Since(base))
			left--
		}
	}
}

// Command chatbench measures a running chatd on this machine: event-stream
// delivery latency and memory with many subscribers, and request throughput.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"
)

const usage = `usage: chatbench <command> [flags]

commands:
  subscribers  open many event streams, post messages, report delivery
               latency and (with -pid) the server's memory per idle stream
  load         report posts/s and latest-50 list requests/s at a concurrency

Run "chatbench <command> -h" for the flags of a command. Targets must be on
this machine (loopback addresses only). For subscribers, chatd needs an open
file limit above -n too (ulimit -n); chatbench raises its own.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "subscribers":
		return runSubscribers(ctx, args[1:], stdout, stderr)
	case "load":
		return runLoad(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// newFlagSet returns the flags of a command, with the -addr every command has.
func newFlagSet(name string, stderr io.Writer, addr *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(addr, "addr", "http://127.0.0.1:8080", "chatd base URL (loopback only); load takes several, comma-separated, for instances sharing one database")
	return fs
}

// checkLoopback accepts only http URLs on this machine: the tool opens
// thousands of connections and must not be pointed at someone else's server.
func checkLoopback(addr string) (*url.URL, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("-addr %q: want http://host:port", addr)
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-addr %q: only loopback targets are allowed", addr)
	}
	return u, nil
}

// api is a small client of the chat API.
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string, conns int) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: conns, IdleConnTimeout: time.Minute}
	return &api{base: strings.TrimRight(base, "/"), client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// do sends a request and returns the body of a 200 answer.
func (a *api) do(ctx context.Context, method, path, token string, form url.Values) ([]byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, data)
	}
	return data, nil
}

// newUser registers a fresh user and logs it in, returning its token.
func (a *api) newUser(ctx context.Context) (string, error) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	login, password := "bench_"+hex.EncodeToString(suffix), "bench-"+hex.EncodeToString(suffix)
	creds := url.Values{"login": {login}, "password": {password}}
	if _, err := a.do(ctx, "POST", "/api/users/register", "", creds); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	data, err := a.do(ctx, "POST", "/api/users/login", "", creds)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	var res struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &res); err != nil || res.Token == "" {
		return "", fmt.Errorf("login: no token in %.200s", data)
	}
	return res.Token, nil
}

package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to check the file after the crash

	"chatd/internal/chat"
	"chatd/internal/chatdtest"
)

// TestCrashSafety kills the real chatd binary with SIGKILL while clients
// post, restarts it on the same SQLite file and checks that every post it
// answered 200 survived: an answer means the message is durable.
func TestCrashSafety(t *testing.T) {
	bin := chatdtest.Build(t)
	db := filepath.Join(t.TempDir(), "chatd.db")

	first := startBinary(t, bin, db)
	const login, password = "crash_user", "crash test password"
	r := first.client.form(t, http.MethodPost, "/api/users/register", "", url.Values{"login": {login}, "password": {password}})
	wantStatus(t, "register", r, http.StatusOK)
	token := first.client.login(t, login, password)
	acked := postUntilKilled(t, first, token)
	t.Logf("%d posts answered 200 before kill -9", len(acked))

	second := startBinary(t, bin, db)
	wantStatus(t, "authorized with a token from before the crash", second.client.get(t, "/api/users/authorized", token), http.StatusOK)
	checkSurvivors(t, second.client, token, acked)
	after := postMessage(t, second.client, token, "after the crash")
	if last := acked[len(acked)-1].ID; after.ID <= last {
		t.Errorf("post after restart: got id %d, want more than %d (ids are never reused)", after.ID, last)
	}
	second.interrupt(t)
	for _, p := range []*subprocess{first, second} {
		if logs := strings.Join(p.logs.Lines(), "\n"); strings.Contains(logs, "DATA RACE") {
			t.Errorf("the race detector spoke in chatd's log:\n%s", logs)
		}
	}
	checkIntegrity(t, db)
}

// subprocess is a chatd binary running on a free port.
type subprocess struct {
	cmd    *exec.Cmd
	client *apiClient
	logs   *logSink
	life   *lifetime
}

// startBinary starts bin on db with JSON logs and waits until it is
// healthy. It is killed when the test ends, if still running.
func startBinary(t *testing.T, bin, db string) *subprocess {
	t.Helper()
	p := launchBinary(t, bin, db)
	p.waitReady(t)
	return p
}

// launchBinary starts bin on db with JSON logs without waiting for it, so
// that several instances can start at once; waitReady then waits for each.
// It is killed when the test ends, if still running.
func launchBinary(t *testing.T, bin, db string) *subprocess {
	t.Helper()
	logs := newLogSink()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", db, "-log-format", "json")
	cmd.Env = environWithoutChatd()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	life := goLifetime(cmd.Wait)
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // fails harmlessly when it already exited
		life.wait(10 * time.Second)
	})
	return &subprocess{cmd: cmd, logs: logs, life: life}
}

// waitReady waits until p logs its address and is healthy, and sets p.client.
func (p *subprocess) waitReady(t *testing.T) {
	t.Helper()
	p.client = newAPIClient(p.logs.waitAddr(t, p.life, 60*time.Second))
	p.client.waitHealthy(t, 10*time.Second)
}

// environWithoutChatd is this process's environment without CHATD_*
// variables, so a developer's own settings never reach the subprocess.
func environWithoutChatd() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHATD_") {
			env = append(env, kv)
		}
	}
	return env
}

// interrupt stops p as Ctrl-C would and checks that it exits cleanly.
func (p *subprocess) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt chatd: %v", err)
	}
	ended, err := p.life.wait(20 * time.Second)
	if !ended {
		t.Fatal("chatd did not exit within 20s of SIGINT")
	}
	if err != nil {
		t.Errorf("chatd after SIGINT: got %v, want exit status 0\nlog:\n%s", err, strings.Join(p.logs.Lines(), "\n"))
	}
}

// postUntilKilled posts from several goroutines and kills p with SIGKILL
// mid-load, once at least a second has passed and enough posts were
// answered. It returns every message answered 200, in id order.
func postUntilKilled(t *testing.T, p *subprocess, token string) []chat.Message {
	t.Helper()
	const workers, wantAcked, minLoad, maxLoad = 4, 100, time.Second, 15 * time.Second
	var (
		mu    sync.Mutex
		acked []chat.Message
		wg    sync.WaitGroup
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for w := range workers {
		wg.Go(func() {
			for n := 0; ; n++ {
				m, ok := postOnce(t, p.client, token, fmt.Sprintf("worker %d message %d", w, n))
				if !ok {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, m)
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for time.Since(start) < minLoad || (count() < wantAcked && time.Since(start) < maxLoad) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 chatd: %v", err)
	}
	wg.Wait()
	ended, err := p.life.wait(10 * time.Second)
	var exit *exec.ExitError
	if !ended || !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("chatd after kill -9: ended %v with %v, want killed by SIGKILL", ended, err)
	}
	if len(acked) < 10 {
		t.Fatalf("only %d posts answered in %v; too few to prove anything", len(acked), time.Since(start))
	}
	slices.SortFunc(acked, func(a, b chat.Message) int { return cmp.Compare(a.ID, b.ID) })
	return acked
}

// postOnce posts text and returns the message when the answer is a 200; it
// reports ok false when no complete answer came back (the server was
// killed). Any other answer is a test error.
func postOnce(t *testing.T, c *apiClient, token, text string) (chat.Message, bool) {
	body := []byte(url.Values{"text": {text}}.Encode())
	r, err := c.send(context.Background(), http.MethodPost, "/api/messages", token, "application/x-www-form-urlencoded", body)
	if err != nil {
		return chat.Message{}, false
	}
	var m chat.Message
	if r.status != http.StatusOK {
		t.Errorf("post %q under load: got %d %s, want 200", text, r.status, r.body)
		return m, false
	}
	if err := json.Unmarshal(r.body, &m); err != nil || m.Text != text {
		t.Errorf("post %q under load: got %s (%v), want the message", text, r.body, err)
		return m, false
	}
	return m, true
}

// checkSurvivors checks that every acknowledged message is there with its
// text, one by one and in the full list, and that ids are distinct.
func checkSurvivors(t *testing.T, c *apiClient, token string, acked []chat.Message) {
	t.Helper()
	for i, m := range acked {
		if i > 0 && m.ID == acked[i-1].ID {
			t.Errorf("two posts were answered with the same id %d", m.ID)
		}
		r := c.get(t, fmt.Sprintf("/api/messages/%d", m.ID), token)
		var got chat.Message
		if r.status == http.StatusOK {
			decodeJSON(t, "get after crash", r, &got)
		}
		if r.status != http.StatusOK || got.Text != m.Text || got.UserID != m.UserID {
			t.Errorf("message %d after crash: got %d %s, want 200 with text %q", m.ID, r.status, r.body, m.Text)
		}
	}
	listed := map[int64]string{}
	var after int64
	for {
		page := listMessages(t, c, token, fmt.Sprintf("?after=%d&limit=1000", after))
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			if m.ID <= after {
				t.Fatalf("list after crash: id %d follows %d; want ascending distinct ids", m.ID, after)
			}
			listed[m.ID], after = m.Text, m.ID
		}
	}
	for _, m := range acked {
		if text, ok := listed[m.ID]; !ok || text != m.Text {
			t.Errorf("list after crash: message %d is %q (listed %v), want %q", m.ID, text, ok, m.Text)
		}
	}
	t.Logf("%d messages listed after the crash; %d were answered before it", len(listed), len(acked))
}

// checkIntegrity runs SQLite's own consistency check on the file.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&result); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if result != "ok" {
		t.Errorf("integrity_check: got %q, want ok", result)
	}
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// scenarioTime bounds the browser part of the test. It takes about 15 s on
// an idle 2-core machine and about 35 s with every core busy elsewhere, as in
// CI's parallel -race run; building chatd comes on top, and takes long only
// with a cold build cache.
const scenarioTime = 75 * time.Second

// chromiumPath returns the Chromium to drive, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHATD_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("Chromium not found: apt-get install chromium (.ci/run installs it)")
	return ""
}

// startBrowser starts one headless Chromium for the test; tabs opened with
// newTab live in separate browser contexts, so they share no storage and
// act as independent devices.
func startBrowser(t *testing.T, execPath string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US"), // an English screenshot on any machine
		chromedp.WindowSize(1000, 720),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser and ties its life to the context it
	// gets, so it must not get one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab in a browser context of its own, with the dialogs
// and uncaught exceptions its page produced.
type tab struct {
	t        *testing.T
	name     string
	ctx      context.Context
	deadline time.Time

	mu         sync.Mutex
	dialogs    []string
	exceptions []string
	urls       []string // every URL the page requested
}

func newTab(t *testing.T, browser context.Context, name string, deadline time.Time) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, name: name, ctx: ctx, deadline: deadline}
	// As with the browser, the first call opens the tab for the life of the
	// context it gets: the tab's own, not a step's.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 720)); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			// Close it, or the page stays blocked.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.urls = append(b.urls, ev.Request.URL)
			b.mu.Unlock()
		}
	}()
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() {
				b.mu.Lock()
				b.exceptions = append(b.exceptions, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot()
		}
	})
	return b
}

// stepCtx bounds one step by the scenario's deadline.
func (b *tab) stepCtx() (context.Context, context.CancelFunc) {
	return context.WithDeadline(b.ctx, b.deadline)
}

// do runs actions in the tab and ends the test on an error.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

// waitJS waits until a JavaScript expression is true in the tab.
func (b *tab) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	poll := chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(b.deadline)))
	if _, err := chromedp.Run(ctx, poll); err != nil {
		b.t.Fatalf("%s: waiting for %s: %v", b.name, what, err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// problems returns the dialogs and uncaught exceptions seen so far.
func (b *tab) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append(append([]string(nil), b.dialogs...), b.exceptions...)
}

// requested returns the URLs the page requested so far.
func (b *tab) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

// screenshot saves what the tab shows to a directory that outlives the test.
func (b *tab) screenshot() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("%s: screenshot: %v", b.name, err)
		return
	}
	dir, err := os.MkdirTemp("", "chatd-web-test-")
	if err == nil {
		path := filepath.Join(dir, b.name+".png")
		if err = os.WriteFile(path, buf, 0o644); err == nil {
			b.t.Logf("%s: screenshot of the failure: %s", b.name, path)
			return
		}
	}
	b.t.Logf("%s: save screenshot: %v", b.name, err)
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// msgSelector finds the message with exactly this text in the timeline.
func msgSelector(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .msg')].find(li => li.querySelector('.text')?.textContent === %s)`, js(text))
}

func (b *tab) register(base, login, password, avatar string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.ID("tab-register")),
		chromedp.SendKeys(chromedp.ID("register-login"), login),
		chromedp.SendKeys(chromedp.ID("register-password"), password),
	)
	if avatar != "" {
		b.do(chromedp.SetUploadFiles(chromedp.ID("register-image"), []string{avatar}))
		b.waitJS("the avatar preview", `document.querySelector('#register-preview img')?.src.startsWith('blob:') === true`)
	}
	b.do(chromedp.Click(chromedp.CSS(`#register-form button[type="submit"]`)))
	b.waitChat(login)
}

func (b *tab) login(base, login, password string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(base+"/"),
		chromedp.SendKeys(chromedp.ID("login-login"), login),
		chromedp.SendKeys(chromedp.ID("login-password"), password),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	b.waitChat(login)
}

// waitChat waits for the chat view of a user with a live event stream.
func (b *tab) waitChat(login string) {
	b.t.Helper()
	b.waitJS("the chat view of "+login, fmt.Sprintf(
		`!document.getElementById('chat-view').hidden && document.getElementById('me-name').textContent === %s && document.getElementById('live-status').dataset.state === 'live'`,
		js(login)))
}

// pressEnter presses Enter as a keyboard does when the page cancels the
// keydown: SendKeys("\n") would also send a char event that types a new line.
var pressEnter = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err != nil {
			return fmt.Errorf("press Enter: %w", err)
		}
	}
	return nil
})

// send types a message and presses Enter.
func (b *tab) send(text string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.ID("compose-text"), text), pressEnter)
	b.waitJS("the compose box to empty", `document.getElementById('compose-text').value === ''`)
	b.waitMessage(text)
}

func (b *tab) waitMessage(text string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("message %q", text), msgSelector(text)+` !== undefined`)
}

func (b *tab) waitNoMessage(text string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("message %q to go", text), msgSelector(text)+` === undefined`)
}

// messageID returns the id of the message with this text.
func (b *tab) messageID(text string) string {
	b.t.Helper()
	return eval[string](b, msgSelector(text)+`?.dataset.id ?? ''`)
}

package web

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"chatd/internal/chatdtest"
)

// TestBrowserChat drives the client in real Chromium against the real chatd
// binary: two users on separate devices chat live, edit and delete, a
// message that looks like HTML stays text, and logging out on all devices
// from a third device sends the first one back to the login form.
func TestBrowserChat(t *testing.T) {
	chromium := chromiumPath(t)
	base := startChatd(t, chatdtest.Build(t))
	chatScenario(t, startBrowser(t, chromium), base)
}

// chatScenario is the whole journey, in the browser given, against the
// server at base.
func chatScenario(t *testing.T, browser context.Context, base string) {
	deadline := time.Now().Add(scenarioTime)

	alice := newTab(t, browser, "alice", deadline)
	bob := newTab(t, browser, "bob", deadline)
	alice.register(base, "alice", "wonderland-42", writePNG(t))

	// The server's field errors show next to their fields.
	bob.do(
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.ID("tab-register")),
		chromedp.SendKeys(chromedp.ID("register-login"), "b"),
		chromedp.SendKeys(chromedp.ID("register-password"), "x"),
		chromedp.Click(chromedp.CSS(`#register-form button[type="submit"]`)),
	)
	bob.waitJS("the field errors", `document.getElementById('register-login-error').textContent !== '' &&
		document.getElementById('register-password-error').textContent !== '' &&
		document.getElementById('register-login').getAttribute('aria-invalid') === 'true'`)
	bob.register(base, "bob", "builder-42", "")

	token := eval[string](alice, `localStorage.getItem('chatd.token') ?? ''`)
	if token == "" {
		t.Fatalf("alice: no token stored after logging in")
	}

	// Messages appear on the other device without a reload.
	hello := "Hi Bob! The new chat server is up."
	alice.send(hello)
	bob.waitMessage(hello)
	reply := "Hi Alice, looks great. Does editing work?"
	bob.send(reply)
	alice.waitMessage(reply)
	id := bob.messageID(hello)
	if id == "" || id != alice.messageID(hello) {
		t.Fatalf("message ids: bob sees %q, alice %q, want the same id", id, alice.messageID(hello))
	}
	if own := eval[bool](alice, msgSelector(hello)+`.classList.contains('own')`); !own {
		t.Errorf("alice's own message is not marked as own")
	}
	if own := eval[bool](bob, msgSelector(hello)+`.classList.contains('own')`); own {
		t.Errorf("alice's message is marked as own on bob's device")
	}
	bob.waitJS("alice's avatar", msgSelector(hello)+`.querySelector('.avatar img')?.src.startsWith('blob:') === true`)
	if got := eval[string](alice, msgSelector(reply)+`.querySelector('.avatar').textContent`); got != "B" {
		t.Errorf("bob's avatar placeholder: got %q, want initials \"B\"", got)
	}

	// An edit shows on both devices, marked as edited.
	edited := "Hi Bob! The new chat server is up and running."
	sel := `#messages li[data-id="` + id + `"]`
	alice.do(
		chromedp.Click(chromedp.CSS(sel+" .edit")),
		chromedp.SetValue(chromedp.CSS(sel+" .edit-text"), edited),
		chromedp.Focus(chromedp.CSS(sel+" .edit-text")),
		pressEnter,
	)
	for _, b := range []*tab{alice, bob} {
		b.waitJS("the edit", msgSelector(edited)+`?.querySelector('.edited') != null`)
		b.waitNoMessage(hello)
	}
	alice.send("Yes, and deleting too.")
	bob.waitMessage("Yes, and deleting too.")
	if os.Getenv("CHATD_UPDATE_SCREENSHOT") == "1" {
		saveScreenshot(t, bob)
	}

	// A delete asks first, in the page, then goes from both devices.
	doomed := alice.messageID("Yes, and deleting too.")
	alice.do(chromedp.Click(chromedp.CSS(`#messages li[data-id="` + doomed + `"] .delete`)))
	alice.waitJS("the confirmation dialog", `document.getElementById('confirm-dialog').open`)
	alice.do(chromedp.Click(chromedp.ID("confirm-ok")))
	alice.waitNoMessage("Yes, and deleting too.")
	bob.waitNoMessage("Yes, and deleting too.")

	// Text that looks like HTML is shown as text and never runs.
	xss := `<img src=x onerror=alert(1)>`
	bob.send(xss)
	alice.waitMessage(xss)
	for _, b := range []*tab{alice, bob} {
		if found := eval[bool](b, `document.querySelector('img[src=x]') !== null`); found {
			t.Errorf("%s: the message became an <img> element", b.name)
		}
	}

	// A new avatar reaches the other device at once (user.updated).
	bob.do(
		chromedp.Click(chromedp.ID("account-button")),
		chromedp.SetUploadFiles(chromedp.ID("account-image"), []string{writePNG(t)}),
	)
	alice.waitJS("bob's new avatar", msgSelector(reply)+`.querySelector('.avatar img')?.src.startsWith('blob:') === true`)
	bob.do(chromedp.Click(chromedp.ID("account-close")))

	// A page of newer messages, so that a new device must scroll back.
	bob.do(chromedp.Evaluate[chromedp.Void](`(async () => {
		for (let i = 0; i < 50; i++) {
			const form = new FormData();
			form.append('text', 'filler ' + i);
			const res = await fetch('/api/messages', {method: 'POST', headers: {Authorization: localStorage.getItem('chatd.token')}, body: form});
			if (!res.ok) throw new Error('post: ' + res.status);
		}
	})()`, chromedp.EvalAwaitPromise))

	// A third device loads the newest page, and older ones on scrolling up.
	third := newTab(t, browser, "alice-2", deadline)
	third.login(base, "alice", "wonderland-42")
	third.waitMessage("filler 49")
	if n := eval[int](third, `document.querySelectorAll('#messages .msg').length`); n != 50 {
		t.Errorf("alice-2: first load shows %d messages, want 50", n)
	}
	// Scroll up as a reader does, again while the older page is not there.
	third.waitJS("older messages on scrolling up", `(document.getElementById('timeline').scrollTop = 0, `+
		msgSelector(reply)+` !== undefined)`)
	third.waitMessage(xss)

	// Logging out on all devices from the third one ends alice's other session.
	third.do(
		chromedp.Click(chromedp.ID("account-button")),
		chromedp.Click(chromedp.ID("logout-all-button")),
	)
	for _, b := range []*tab{third, alice} {
		b.waitJS("the login form", `!document.getElementById('login-form').hidden && document.getElementById('chat-view').hidden`)
	}
	// The device that logged out says so; the other says it was logged out.
	own := eval[string](third, `document.getElementById('auth-notice').textContent`)
	revoked := eval[string](alice, `document.getElementById('auth-notice').textContent`)
	if own == "" || revoked == "" || own == revoked {
		t.Errorf("notices: got %q on the device that logged out and %q on the other, want two different ones", own, revoked)
	}
	if token := eval[string](alice, `localStorage.getItem('chatd.token') ?? ''`); token != "" {
		t.Errorf("alice: the revoked token is still stored")
	}
	if chat := eval[bool](bob, `!document.getElementById('chat-view').hidden`); !chat {
		t.Errorf("bob was logged out by alice's logout on all devices")
	}

	// Both views fit a 360 px wide phone without scrolling sideways.
	for _, b := range []*tab{bob, third} {
		b.do(chromedp.EmulateViewport(360, 640, chromedp.EmulateMobile))
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 360 {
			t.Errorf("%s: the page is %d px wide in a 360 px window", b.name, w)
		}
	}

	// Tokens travel in headers only; the event stream is opened with a ticket.
	streams := 0
	for _, u := range alice.requested() {
		if strings.Contains(u, token) {
			t.Errorf("alice: the token is in a URL: %s", u)
		}
		if strings.Contains(u, "/api/messages/events?ticket=") {
			streams++
		}
	}
	if streams == 0 {
		t.Errorf("alice: no event stream was opened with a ticket")
	}

	for _, b := range []*tab{alice, bob, third} {
		if p := b.problems(); len(p) > 0 {
			t.Errorf("%s: dialogs or script errors:\n%s", b.name, strings.Join(p, "\n"))
		}
	}
}

// saveScreenshot regenerates testdata/screenshot.png, the README's picture
// of the chat view.
func saveScreenshot(t *testing.T, b *tab) {
	t.Helper()
	ctx, cancel := b.stepCtx()
	defer cancel()
	// A smaller window than the test's keeps the picture free of empty space.
	b.do(chromedp.EmulateViewport(900, 480))
	defer b.do(chromedp.EmulateViewport(1000, 720))
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile("testdata/screenshot.png", buf, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("updated testdata/screenshot.png")
}

// writePNG writes a small avatar picture for the upload.
func writePNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			c := color.RGBA{R: 79, G: 70, B: 229, A: 255}
			if (x-48)*(x-48)+(y-40)*(y-40) < 18*18 || (y > 66 && (x-48)*(x-48) < (y-50)*(y-50)) {
				c = color.RGBA{R: 255, G: 214, B: 140, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), "alice.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create avatar file: %v", err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatalf("encode avatar: %v", err)
	}
	return path
}

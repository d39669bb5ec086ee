package httpapi

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"chatd/internal/chat"
)

// fieldNames returns the sorted field names of a 400 answer.
func fieldNames(t *testing.T, r response) []string {
	t.Helper()
	return slices.Sorted(maps.Keys(r.fields(t)))
}

// testPNG encodes a w x h gradient; with transparent, its left half has
// alpha 0.
func testPNG(t testing.TB, w, h int, transparent bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: uint8(x), G: uint8(y), B: 0x80, A: 0xff}
			if transparent && x < w/2 {
				c.A = 0
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encode PNG: %v", err)
	}
	return buf.Bytes()
}

// testJPEG encodes an opaque w x h image of one colour.
func testJPEG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatalf("encode JPEG: %v", err)
	}
	return buf.Bytes()
}

func registerForm(login, password string) request {
	return formReq("POST", "/api/users/register", "", url.Values{"login": {login}, "password": {password}})
}

func TestRegister(t *testing.T) {
	ts := newTestServer(t)
	ctEmpty, empty := multipartBody(t, nil, nil)
	tests := []struct {
		name     string
		req      request
		username string   // the username a 200 must carry
		fields   []string // the exact fields a 400 must name
	}{
		{"urlencoded", registerForm("urlenc", "secret"), "urlenc", nil},
		{"multipart", registerMultipart(t, "multipart", "secret", nil), "multipart", nil},
		{"multipart with image", registerMultipart(t, "withimage", "secret", testPNG(t, 40, 30, false)), "withimage", nil},
		{"login trimmed", registerForm("  spaced\t", "secret"), "spaced", nil},
		{"spelling kept", registerForm("MiXeD", "secret"), "MiXeD", nil},
		{"3 characters", registerForm("abc", "secret"), "abc", nil},
		{"32 characters", registerForm(strings.Repeat("x", 32), "secret"), strings.Repeat("x", 32), nil},
		{"cyrillic", registerForm("Алиса", "secret"), "Алиса", nil},
		{"greek and digits", registerForm("Ελένη_42", "secret"), "Ελένη_42", nil},
		{"han", registerForm("李小龍", "secret"), "李小龍", nil},
		{"dot dash underscore", registerForm("a.b-c_d", "secret"), "a.b-c_d", nil},
		{"password 256", registerForm("longpass", strings.Repeat("p", 256)), "longpass", nil},
		{"password 3", registerForm("shortpass", "abc"), "shortpass", nil},
		{"missing both (urlencoded)", formReq("POST", "/api/users/register", "", url.Values{}), "", []string{"login", "password"}},
		{"missing both (multipart)", request{method: "POST", path: "/api/users/register", contentType: ctEmpty, body: empty}, "", []string{"login", "password"}},
		{"login 2 characters", registerForm("ab", "secret"), "", []string{"login"}},
		{"login 2 after trimming", registerForm("  ab  ", "secret"), "", []string{"login"}},
		{"login 33 characters", registerForm(strings.Repeat("x", 33), "secret"), "", []string{"login"}},
		{"space inside", registerForm("al ice", "secret"), "", []string{"login"}},
		{"at sign", registerForm("al@ice", "secret"), "", []string{"login"}},
		{"password 2", registerForm("pw2", "pw"), "", []string{"password"}},
		{"password 257", registerForm("pw257", strings.Repeat("p", 257)), "", []string{"password"}},
		{"both bad", registerForm("a", "b"), "", []string{"login", "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(tt.req)
			if tt.fields != nil {
				if got := fieldNames(t, r); !slices.Equal(got, tt.fields) {
					t.Errorf("field errors %s: got fields %v, want %v", r.body, got, tt.fields)
				}
				return
			}
			wantStatus(t, tt.name, r, http.StatusOK, "")
			var u userBody
			r.json(t, &u)
			if u.UserID <= 0 || u.Username != tt.username {
				t.Errorf("got %+v, want a positive userid and username %q", u, tt.username)
			}
		})
	}
	// The image travelled with the registration; without one there is none.
	for login, want := range map[string]int{"withimage": http.StatusOK, "multipart": http.StatusNoContent} {
		token := ts.login(login, "secret")
		r := ts.avatar(token, ts.authorized(token).UserID)
		wantStatus(t, "avatar of "+login, r, want, "")
	}
	// A missing field is reported as required, both at once.
	r := ts.do(formReq("POST", "/api/users/register", "", url.Values{}))
	want := map[string][]string{"login": {"is required"}, "password": {"is required"}}
	if diff := cmp.Diff(want, r.fields(t)); diff != "" {
		t.Errorf("missing fields (-want +got):\n%s", diff)
	}
}

func TestRegisterTakenIgnoresCase(t *testing.T) {
	ts := newTestServer(t)
	ts.register("Alice", "secret")
	for _, login := range []string{"Alice", "alice", "ALICE", " aLiCe "} {
		r := ts.do(registerForm(login, "other-secret"))
		want := map[string][]string{"login": {"is already taken"}}
		if diff := cmp.Diff(want, r.fields(t)); diff != "" {
			t.Errorf("register %q again (-want +got):\n%s", login, diff)
		}
	}
	// The first registration's password still opens the account, under its spelling.
	token := ts.login("alice", "secret")
	if u := ts.authorized(token); u.Username != "Alice" {
		t.Errorf("username: got %q, want %q", u.Username, "Alice")
	}
}

func TestRegisterFailureCreatesNothing(t *testing.T) {
	ts := newTestServer(t)
	notImage := []byte("definitely not an image")
	r := ts.do(registerMultipart(t, "carol", "secret", notImage))
	if got := fieldNames(t, r); !slices.Equal(got, []string{"image"}) {
		t.Fatalf("bad image: got fields %v, want [image]", got)
	}
	// Every bad field at once: the image is judged even when the login is bad.
	r = ts.do(registerMultipart(t, "c", "secret", notImage))
	if got := fieldNames(t, r); !slices.Equal(got, []string{"image", "login"}) {
		t.Errorf("bad image and login: got fields %v, want [image login]", got)
	}
	wantStatus(t, "login before registering", ts.form("POST", "/api/users/login", "",
		url.Values{"login": {"carol"}, "password": {"secret"}}), http.StatusForbidden, "error")
	id := ts.register("carol", "secret")
	token := ts.login("carol", "secret")
	wantStatus(t, "no avatar left behind", ts.avatar(token, id), http.StatusNoContent, "")
}

// registerMultipart is a multipart registration, with an image file unless
// img is nil.
func registerMultipart(t *testing.T, login, password string, img []byte) request {
	t.Helper()
	ct, body := multipartBody(t, map[string]string{"login": login, "password": password}, img)
	return request{method: "POST", path: "/api/users/register", contentType: ct, body: body}
}

// authorized returns the user of token.
func (ts *testServer) authorized(token string) userBody {
	ts.t.Helper()
	r := ts.do(request{method: "GET", path: "/api/users/authorized", token: token})
	if r.status != http.StatusOK {
		ts.t.Fatalf("authorized: status %d, body %s", r.status, r.body)
	}
	var u userBody
	r.json(ts.t, &u)
	return u
}

// avatar GETs the avatar of user id.
func (ts *testServer) avatar(token string, id int64) response {
	ts.t.Helper()
	return ts.do(request{method: "GET", path: "/api/users/image/" + strconv.FormatInt(id, 10), token: token})
}

func loginForm(login, password string) request {
	return formReq("POST", "/api/users/login", "", url.Values{"login": {login}, "password": {password}})
}

func TestLogin(t *testing.T) {
	ts := newTestServer(t)
	id := ts.register("Alice", "secret")
	ct, mp := multipartBody(t, map[string]string{"login": "alice", "password": "secret"}, nil)
	tests := []struct {
		name   string
		req    request
		status int
		fields []string // the exact fields a 400 must name
	}{
		{"urlencoded", loginForm("Alice", "secret"), 200, nil},
		{"json", jsonReq("POST", "/api/users/login", "", `{"login":"Alice","password":"secret"}`), 200, nil},
		{"multipart", request{method: "POST", path: "/api/users/login", contentType: ct, body: mp}, 200, nil},
		{"other case", loginForm("aLICE", "secret"), 200, nil},
		{"trimmed", loginForm("  alice\t", "secret"), 200, nil},
		{"wrong password", loginForm("alice", "wrong-secret"), 403, nil},
		{"unknown login", loginForm("nobody", "secret"), 403, nil},
		{"missing both", formReq("POST", "/api/users/login", "", url.Values{}), 400, []string{"login", "password"}},
		{"missing password", jsonReq("POST", "/api/users/login", "", `{"login":"alice"}`), 400, []string{"password"}},
		{"login 2 characters", loginForm("al", "secret"), 400, []string{"login"}},
		{"login 33 characters", loginForm(strings.Repeat("a", 33), "secret"), 400, []string{"login"}},
		{"password 2 characters", loginForm("alice", "se"), 400, []string{"password"}},
		{"password 257 characters", loginForm("alice", strings.Repeat("s", 257)), 400, []string{"password"}},
		{"json numbers", jsonReq("POST", "/api/users/login", "", `{"login":5,"password":6}`), 400, []string{"login", "password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(tt.req)
			wantStatus(t, tt.name, r, tt.status, "")
			switch {
			case tt.status == 400:
				if got := fieldNames(t, r); !slices.Equal(got, tt.fields) {
					t.Errorf("got fields %v (%s), want %v", got, r.body, tt.fields)
				}
			case tt.status == 200:
				var res loginBody
				r.json(t, &res)
				if res.Token == "" || res.UserID != id || res.Username != "Alice" {
					t.Errorf("got %+v, want a token for user %d named Alice", res, id)
				}
			}
		})
	}
	// Unknown logins and wrong passwords are told apart by nothing.
	wrong, unknown := ts.do(loginForm("alice", "wrong-secret")), ts.do(loginForm("nobody", "secret"))
	if !bytes.Equal(wrong.body, unknown.body) {
		t.Errorf("wrong password answers %s, unknown login %s; want the same body", wrong.body, unknown.body)
	}
}

func TestLoginOpensSessionPerDevice(t *testing.T) {
	ts := newTestServer(t)
	ts.register("alice", "secret")
	first, second := ts.login("alice", "secret"), ts.login("ALICE", "secret")
	if first == second {
		t.Fatalf("two logins gave the same token %q", first)
	}
	for i, token := range []string{first, second} {
		if u := ts.authorized(token); u.Username != "alice" {
			t.Errorf("token %d: got username %q, want alice", i+1, u.Username)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	ts := newTestServer(t)
	ts.register("alice", "secret")
	ts.register("bob", "secret")
	for i := range chat.DefaultLoginLimit().PerLogin {
		wantStatus(t, fmt.Sprint("failure ", i+1), ts.do(loginForm("alice", "wrong")), http.StatusForbidden, "error")
	}
	// Refused even with the right password: the throttle answers first.
	r := ts.do(loginForm("alice", "secret"))
	wantStatus(t, "after the limit", r, http.StatusTooManyRequests, "error")
	retry, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > int(chat.DefaultLoginLimit().Window/time.Second) {
		t.Errorf("Retry-After: got %q, want whole seconds within the window", r.header.Get("Retry-After"))
	}
	// Another login from the same address is not held back.
	ts.login("bob", "secret")
}

// TestLoginSuccessClearsItsCounter: a human who mistyped a few times and then
// got in starts afresh; the login's counter is cleared by the success.
func TestLoginSuccessClearsItsCounter(t *testing.T) {
	ts := newTestServer(t)
	ts.register("alice", "secret")
	almost := chat.DefaultLoginLimit().PerLogin - 1
	for round := range 2 {
		for i := range almost {
			wantStatus(t, fmt.Sprintf("round %d failure %d", round+1, i+1), ts.do(loginForm("alice", "wrong")), http.StatusForbidden, "error")
		}
		ts.login("alice", "secret")
	}
}

func TestLoginThrottleDisabled(t *testing.T) {
	ts := newTestServer(t, func(c *chat.Config) { c.LoginLimit = chat.LoginLimit{} })
	ts.register("alice", "secret")
	for i := range 2 * chat.DefaultLoginLimit().PerLogin {
		wantStatus(t, fmt.Sprint("failure ", i+1), ts.do(loginForm("alice", "wrong")), http.StatusForbidden, "")
	}
	ts.login("alice", "secret")
}

func TestAuthorized(t *testing.T) {
	ts := newTestServer(t)
	token, id := ts.user("alice")
	tests := []struct {
		name, auth string
		status     int
	}{
		{"raw token", token, 200},
		{"bearer", "Bearer " + token, 200},
		{"bearer any case", "bearer " + token, 200},
		{"none", "", 403},
		{"garbage", "garbage", 403},
		{"bearer garbage", "Bearer garbage", 403},
		{"token with a suffix", token + "x", 403},
	}
	for _, tt := range tests {
		r := ts.do(request{method: "GET", path: "/api/users/authorized", token: tt.auth})
		wantStatus(t, tt.name, r, tt.status, "")
		if tt.status == 200 {
			var u userBody
			r.json(t, &u)
			if u != (userBody{UserID: id, Username: "alice"}) {
				t.Errorf("%s: got %+v, want user %d alice", tt.name, u, id)
			}
		}
	}
}

func TestLogout(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	other := ts.login("alice", "password-alice")
	wantStatus(t, "logout", ts.do(request{method: "POST", path: "/api/users/logout", token: token}), 200, "{}")
	wantStatus(t, "logged-out token", ts.do(request{method: "GET", path: "/api/users/authorized", token: token}), 403, "error")
	wantStatus(t, "other device", ts.do(request{method: "GET", path: "/api/users/authorized", token: other}), 200, "alice")
	for name, auth := range map[string]string{"again": token, "no token": "", "garbage": "garbage"} {
		wantStatus(t, name, ts.do(request{method: "POST", path: "/api/users/logout", token: auth}), 400, "error")
	}
}

func TestLogoutAll(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.user("alice")
	other := ts.login("alice", "password-alice")
	bob, _ := ts.user("bob")
	wantStatus(t, "logout_all", ts.do(request{method: "POST", path: "/api/users/logout_all", token: other}), 200, "{}")
	for name, auth := range map[string]string{"presented token": other, "other device": token} {
		wantStatus(t, name, ts.do(request{method: "GET", path: "/api/users/authorized", token: auth}), 403, "error")
	}
	wantStatus(t, "another user", ts.do(request{method: "GET", path: "/api/users/authorized", token: bob}), 200, "bob")
	for name, auth := range map[string]string{"again": token, "no token": ""} {
		wantStatus(t, name, ts.do(request{method: "POST", path: "/api/users/logout_all", token: auth}), 400, "error")
	}
}

// putAvatar sends PUT /api/users/image with img as the file.
func (ts *testServer) putAvatar(token string, img []byte) response {
	ts.t.Helper()
	return ts.multipart("PUT", "/api/users/image", token, nil, img)
}

func TestAvatarGet(t *testing.T) {
	ts := newTestServer(t)
	alice, aliceID := ts.user("alice")
	bobID := ts.register("bob", "secret")
	wantStatus(t, "set bob's avatar", ts.putAvatar(ts.login("bob", "secret"), testPNG(t, 64, 48, false)), 200, "{}")
	path := func(id int64) string { return "/api/users/image/" + strconv.FormatInt(id, 10) }
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"no token", request{method: "GET", path: path(bobID)}, 403},
		{"garbage token", request{method: "GET", path: path(bobID), token: "garbage"}, 403},
		{"no avatar", request{method: "GET", path: path(aliceID), token: alice}, 204},
		{"no such user", request{method: "GET", path: path(999999), token: alice}, 204},
		{"id abc", request{method: "GET", path: "/api/users/image/abc", token: alice}, 204},
		{"id 0", request{method: "GET", path: "/api/users/image/0", token: alice}, 204},
		{"avatar", request{method: "GET", path: path(bobID), token: alice}, 200},
	}
	for _, tt := range tests {
		r := ts.do(tt.req)
		wantStatus(t, tt.name, r, tt.status, "")
		if tt.status == http.StatusNoContent && len(r.body) != 0 {
			t.Errorf("%s: got body %q, want none", tt.name, r.body)
		}
	}

	r := ts.avatar(alice, bobID)
	want := map[string]string{
		"Content-Type":            http.DetectContentType(r.body),
		"Content-Length":          strconv.Itoa(len(r.body)),
		"Cache-Control":           "private, no-cache",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'",
	}
	for name, value := range want {
		if got := r.header.Get(name); got != value {
			t.Errorf("%s: got %q, want %q", name, got, value)
		}
	}
	if ct := r.header.Get("Content-Type"); ct != "image/jpeg" && ct != "image/png" {
		t.Errorf("Content-Type: got %q, want image/jpeg or image/png", ct)
	}
	if _, _, err := image.Decode(bytes.NewReader(r.body)); err != nil {
		t.Errorf("avatar bytes do not decode: %v", err)
	}
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 3 {
		t.Fatalf("ETag: got %q, want a quoted strong validator", etag)
	}
	cond := func(header string) response {
		return ts.do(request{method: "GET", path: path(bobID), token: alice, header: map[string]string{"If-None-Match": header}})
	}
	for _, header := range []string{etag, `"other", ` + etag, "W/" + etag} {
		if r := cond(header); r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: got %d with ETag %q and %d bytes, want 304 with the ETag and no body",
				header, r.status, r.header.Get("ETag"), len(r.body))
		}
	}
	wantStatus(t, "If-None-Match of another image", cond(`"other"`), http.StatusOK, "")
}

func TestAvatarPut(t *testing.T) {
	ts := newTestServer(t)
	token, id := ts.user("alice")
	wantStatus(t, "first", ts.putAvatar(token, testJPEG(t, 32, 32, color.RGBA{R: 200, A: 255})), 200, "{}")
	first := ts.avatar(token, id)
	wantStatus(t, "replace", ts.putAvatar(token, testPNG(t, 40, 40, true)), 200, "{}")
	second := ts.avatar(token, id)
	if second.status != 200 || bytes.Equal(first.body, second.body) || first.header.Get("ETag") == second.header.Get("ETag") {
		t.Errorf("after replacing: got status %d, ETag %q (was %q), same bytes %t; want new bytes and ETag",
			second.status, second.header.Get("ETag"), first.header.Get("ETag"), bytes.Equal(first.body, second.body))
	}
	if ct := second.header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("transparent replacement: got Content-Type %q, want image/png", ct)
	}

	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"no file", multipartReq(t, "PUT", "/api/users/image", token, nil), 400},
		{"not an image", multipartReq(t, "PUT", "/api/users/image", token, []byte("plain text, not pixels")), 400},
		{"urlencoded", formReq("PUT", "/api/users/image", token, url.Values{"image": {"x"}}), 400},
		{"no token", multipartReq(t, "PUT", "/api/users/image", "", testPNG(t, 8, 8, false)), 403},
		{"garbage token", multipartReq(t, "PUT", "/api/users/image", "garbage", testPNG(t, 8, 8, false)), 403},
	}
	for _, tt := range tests {
		r := ts.do(tt.req)
		wantStatus(t, tt.name, r, tt.status, "")
		if tt.status == 400 {
			if got := fieldNames(t, r); !slices.Equal(got, []string{"image"}) {
				t.Errorf("%s: got fields %v, want [image]", tt.name, got)
			}
		}
	}
	if again := ts.avatar(token, id); !bytes.Equal(again.body, second.body) {
		t.Errorf("refused uploads changed the avatar")
	}
}

func TestAvatarDelete(t *testing.T) {
	ts := newTestServer(t)
	token, id := ts.user("alice")
	wantStatus(t, "set", ts.putAvatar(token, testPNG(t, 16, 16, false)), 200, "")
	wantStatus(t, "no token", ts.do(request{method: "DELETE", path: "/api/users/image"}), 403, "error")
	wantStatus(t, "still there", ts.avatar(token, id), 200, "")
	wantStatus(t, "delete", ts.do(request{method: "DELETE", path: "/api/users/image", token: token}), 200, "{}")
	wantStatus(t, "gone", ts.avatar(token, id), 204, "")
}

// multipartReq is a multipart request with an "image" file unless img is nil.
func multipartReq(t *testing.T, method, path, token string, img []byte) request {
	t.Helper()
	ct, body := multipartBody(t, nil, img)
	return request{method: method, path: path, token: token, contentType: ct, body: body}
}

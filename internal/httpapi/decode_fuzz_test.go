package httpapi

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"chatd/internal/chat"
)

// FuzzDecodeForm feeds arbitrary bodies under arbitrary content types to
// decodeForm: it must never panic, and whatever it refuses must be an error
// the contract answers with 400 or 413, never a 500.
func FuzzDecodeForm(f *testing.F) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.SetBoundary("fuzzboundary")
	_ = mw.WriteField("login", "alice")
	fw, _ := mw.CreateFormFile("image", "a.png")
	_, _ = fw.Write([]byte("\x89PNG\r\n\x1a\nnot really"))
	_ = mw.Close()
	seeds := []struct {
		contentType, body string
		withFile          bool
	}{
		{"application/x-www-form-urlencoded", "login=alice&password=secret", false},
		{"application/x-www-form-urlencoded", "text=%zz&%%", false},
		{"application/json", `{"login":"alice","password":"secret"}`, false},
		{"application/json", `{"text":5,"x":null}`, false},
		{"application/json", `{"text":"a"}{}`, false},
		{"application/json", `[[[[[[[[[[`, false},
		{mw.FormDataContentType(), mp.String(), true},
		{mw.FormDataContentType(), mp.String(), false},
		{mw.FormDataContentType(), mp.String()[:mp.Len()/2], true},
		{"multipart/form-data", mp.String(), true},
		{"multipart/form-data; boundary=\"", "--\"\r\n", true},
		{"text/plain", "garbage", false},
		{"", "", false},
		{"", "\x00\xff", true},
	}
	for _, s := range seeds {
		f.Add(s.contentType, []byte(s.body), s.withFile)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, withFile bool) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/api/users/register", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		form, err := decodeForm(rec, req, withFile)
		if err == nil {
			if form.values == nil {
				t.Fatalf("decodeForm(%q) gave a form without values and no error", contentType)
			}
			if !withFile && form.image != nil {
				t.Fatalf("decodeForm(%q) without files gave an image", contentType)
			}
			return
		}
		writeError(rec, req, err)
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("decodeForm(%q) error %v answers %d, want 400 or 413", contentType, err, rec.Code)
		}
	})
}

// FuzzParseListRequest feeds raw query strings to chat.ParseListRequest: it
// must never panic, and what it accepts must be within the contract's bounds.
func FuzzParseListRequest(f *testing.F) {
	for _, q := range []string{
		"", "limit=5", "limit=0", "limit=1001", "begin=undefined", "begin=-5&limit=1000",
		"after=0&wait=60", "after=1&wait=61", "before=9223372036854775807", "after=99999999999999999999",
		"wait=5", "limit=+7&limit=8", "limit=%zz", "after=-1&before=0&wait=x",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params, _ := url.ParseQuery(raw) // a partial parse is what a handler would see too
		req, err := chat.ParseListRequest(params)
		if err != nil {
			v, ok := err.(*chat.ValidationError)
			if !ok || len(v.Fields) == 0 {
				t.Fatalf("ParseListRequest(%q) error %v, want field errors (a 400)", raw, err)
			}
			return
		}
		q := req.Query
		if q.Limit < 1 || q.Limit > chat.MaxListLimit {
			t.Errorf("ParseListRequest(%q): got limit %d, want 1..%d", raw, q.Limit, chat.MaxListLimit)
		}
		if req.Wait < 0 || req.Wait > 60*time.Second {
			t.Errorf("ParseListRequest(%q): got wait %v, want 0..60s", raw, req.Wait)
		}
		if req.Wait > 0 && !q.Forward() {
			t.Errorf("ParseListRequest(%q): got wait %v without after or begin", raw, req.Wait)
		}
		if q.AfterID < 0 || q.BeforeID < 0 {
			t.Errorf("ParseListRequest(%q): got after %d, before %d, want neither negative", raw, q.AfterID, q.BeforeID)
		}
	})
}

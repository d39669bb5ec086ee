package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"chatd/internal/chat"
)

// userBody is how the API shows a user.
type userBody struct {
	UserID   int64  `json:"userid"`
	Username string `json:"username"`
}

type loginBody struct {
	Token    string `json:"token"`
	UserID   int64  `json:"userid"`
	Username string `json:"username"`
}

func handleRegister(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := decodeForm(w, r, true)
		if err != nil {
			writeError(w, r, err)
			return
		}
		u, err := svc.Register(r.Context(), f.get("login"), f.get("password"), f.image)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, userBody{UserID: u.ID, Username: u.Login})
	})
}

func handleLogin(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := decodeForm(w, r, false)
		if err != nil {
			writeError(w, r, err)
			return
		}
		res, err := svc.Login(r.Context(), f.get("login"), f.get("password"), clientAddr(r))
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, loginBody{
			Token: res.Token, UserID: res.Session.UserID, Username: res.Session.Username,
		})
	})
}

func handleAuthorized() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := sessionFrom(r.Context())
		encode(w, r, http.StatusOK, userBody{UserID: sess.UserID, Username: sess.Username})
	})
}

// handleLogout and handleLogoutAll answer 400, not 403, without a valid
// token: that is the original contract for these two.
func handleLogout(svc *chat.Service) http.Handler {
	return withLogoutSession(svc, func(r *http.Request, sess chat.Session) error {
		return svc.Logout(r.Context(), sess)
	})
}

func handleLogoutAll(svc *chat.Service) http.Handler {
	return withLogoutSession(svc, func(r *http.Request, sess chat.Session) error {
		return svc.LogoutAll(r.Context(), sess)
	})
}

func withLogoutSession(svc *chat.Service, logout func(*http.Request, chat.Session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := svc.Authenticate(r.Context(), tokenFromRequest(r))
		if err == nil {
			err = logout(r, sess)
		}
		if errors.Is(err, chat.ErrUnauthenticated) {
			writeStatus(w, r, http.StatusBadRequest, "no valid token")
			return
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, struct{}{})
	})
}

func handleAvatarGet(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := chat.ParseID(r.PathValue("id"))
		var a chat.Avatar
		if err == nil {
			a, err = svc.Avatar(r.Context(), id)
		}
		if errors.Is(err, chat.ErrNotFound) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("ETag", a.ETag)
		h.Set("Cache-Control", "private, no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'")
		if etagMatches(r.Header.Get("If-None-Match"), a.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", a.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(a.Data)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(a.Data)
		}
	})
}

func handleAvatarPut(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := decodeForm(w, r, true)
		if err == nil {
			err = svc.SetAvatar(r.Context(), sessionFrom(r.Context()), f.image)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, struct{}{})
	})
}

func handleAvatarDelete(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.RemoveAvatar(r.Context(), sessionFrom(r.Context())); err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, struct{}{})
	})
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || (candidate != "" && candidate == etag) {
			return true
		}
	}
	return false
}

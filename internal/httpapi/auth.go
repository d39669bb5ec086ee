package httpapi

import (
	"context"
	"net/http"
	"strings"

	"chatd/internal/chat"
)

// tokenFromRequest returns the token of the Authorization header, sent raw (as
// the original client does) or as "Bearer <token>".
func tokenFromRequest(r *http.Request) string {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return h
}

// requireSession answers 403 unless the request carries a valid token, and
// hands the session to next through the context.
func requireSession(svc *chat.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := svc.Authenticate(r.Context(), tokenFromRequest(r))
		if err != nil {
			writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey, sess)))
	})
}

// sessionFrom returns the session requireSession stored.
func sessionFrom(ctx context.Context) chat.Session {
	sess, _ := ctx.Value(sessionKey).(chat.Session)
	return sess
}

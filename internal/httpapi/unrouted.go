package httpapi

import (
	"net/http"
	"strings"
)

// isCatchAll reports whether a pattern only answers what no real route serves.
func isCatchAll(pattern string) bool {
	switch pattern {
	case "", "GET /api/":
		return true
	}
	return false
}

// withUnrouted answers requests that match no route with the contract's JSON
// 404 or 405, instead of the mux's plain-text ones.
func withUnrouted(mux *http.ServeMux) http.Handler {
	unrouted := handleUnrouted(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			unrouted.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// handleUnrouted answers 405 with Allow when another method of the path has a
// route, and 404 otherwise.
func handleUnrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := allowedMethods(mux, r)
		if len(allowed) == 0 {
			writeStatus(w, r, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeStatus(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
}

func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := *r
		probe.Method = method
		if _, pattern := mux.Handler(&probe); !isCatchAll(pattern) {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		allowed = append(allowed, http.MethodOptions)
	}
	return allowed
}

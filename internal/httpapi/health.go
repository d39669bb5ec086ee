package httpapi

import (
	"context"
	"net/http"
	"time"
)

type statusBody struct {
	Status string `json:"status"`
}

// handleHealth answers while the process is up.
func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, r, http.StatusOK, statusBody{Status: "ok"})
	})
}

// handleReady answers 200 while the database answers and 503 otherwise, so a
// load balancer can route around an instance that lost its database.
func handleReady(ready func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if ready != nil {
			if err := ready(ctx); err != nil {
				logger(r).WarnContext(ctx, "not ready", "error", err)
				encode(w, r, http.StatusServiceUnavailable, statusBody{Status: "database unavailable"})
				return
			}
		}
		encode(w, r, http.StatusOK, statusBody{Status: "ok"})
	})
}

// handleOpenAPI serves the API's own OpenAPI document.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openAPIDocument)
	})
}

package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"chatd/internal/chat"
)

// errorBody is the shape of every error but a validation error.
type errorBody struct {
	Error string `json:"error"`
}

// writeError is the one place that turns an error into the contract's
// response: field errors for 400, {"error": ...} for everything else, and a
// fixed message plus a log line for anything unexpected.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		invalid  *chat.ValidationError
		limited  *chat.RateLimitedError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &invalid):
		encode(w, r, http.StatusBadRequest, invalid.Fields)
	case errors.Is(err, chat.ErrUnauthenticated):
		writeStatus(w, r, http.StatusForbidden, "no valid token")
	case errors.Is(err, chat.ErrBadCredentials):
		writeStatus(w, r, http.StatusForbidden, "wrong login or password")
	case errors.Is(err, chat.ErrNotAuthor):
		writeStatus(w, r, http.StatusForbidden, "only the author may change this message")
	case errors.Is(err, chat.ErrNotFound):
		writeStatus(w, r, http.StatusNotFound, "not found")
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
		writeStatus(w, r, http.StatusTooManyRequests, "too many failed logins, try again later")
	case errors.As(err, &tooLarge):
		writeStatus(w, r, http.StatusRequestEntityTooLarge, "request body too large")
	case errors.Is(err, chat.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		writeStatus(w, r, http.StatusServiceUnavailable, "service temporarily unavailable")
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client went away; nobody reads an answer.
		logger(r).DebugContext(r.Context(), "client gone", slog.String("error", err.Error()))
	default:
		logger(r).ErrorContext(r.Context(), "internal error", slog.String("error", err.Error()))
		writeStatus(w, r, http.StatusInternalServerError, "internal server error")
	}
}

// writeStatus answers status with {"error": message}.
func writeStatus(w http.ResponseWriter, r *http.Request, status int, message string) {
	encode(w, r, status, errorBody{Error: message})
}

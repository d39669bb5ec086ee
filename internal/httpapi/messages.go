package httpapi

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"time"

	"chatd/internal/chat"
)

func handleMessageList(svc *chat.Service, feed chat.Feed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := chat.ParseListRequest(r.URL.Query())
		if err != nil {
			writeError(w, r, err)
			return
		}
		msgs, err := listWaiting(r.Context(), svc, feed, req)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if msgs == nil {
			msgs = []chat.Message{}
		}
		encode(w, r, http.StatusOK, msgs)
	})
}

// listWaiting lists messages and, when nothing matches and the request asks
// to wait, holds it until a new message arrives or the wait is over. It
// subscribes before the first read, so a post between the two still wakes it;
// waiters share the hub's single wake-up path and never poll the database.
func listWaiting(ctx context.Context, svc *chat.Service, feed chat.Feed, req chat.ListRequest) ([]chat.Message, error) {
	if req.Wait <= 0 {
		return svc.Messages(ctx, req.Query)
	}
	sub, err := feed.Subscribe(ctx, -1)
	if errors.Is(err, chat.ErrFeedClosed) {
		// Shutting down: answer at once instead of waiting.
		return svc.Messages(ctx, req.Query)
	}
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	msgs, err := svc.Messages(ctx, req.Query)
	if err != nil || len(msgs) > 0 {
		return msgs, err
	}
	timer := time.NewTimer(req.Wait)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-sub.Events():
			if ok && ev.Type != chat.EventMessageCreated {
				continue
			}
			// A new message, or the feed ended (shutdown or overflow): answer
			// with what is there now.
			msgs, err = svc.Messages(ctx, req.Query)
			if err != nil || len(msgs) > 0 || !ok {
				return msgs, err
			}
		case <-timer.C:
			return msgs, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func handleMessageGet(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := chat.ParseID(r.PathValue("id"))
		var m chat.Message
		if err == nil {
			m, err = svc.Message(r.Context(), id)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, m)
	})
}

func handleMessageCreate(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := decodeForm(w, r, false)
		var m chat.Message
		if err == nil {
			key := r.Header.Get("Idempotency-Key")
			m, err = svc.PostMessage(r.Context(), sessionFrom(r.Context()), f.get("text"), key)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, m)
	})
}

func handleMessageUpdate(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := sessionFrom(r.Context())
		id, err := chat.ParseID(r.PathValue("id"))
		var f form
		if err == nil {
			f, err = decodeForm(w, r, false)
		}
		if err != nil && !errors.Is(err, chat.ErrNotFound) {
			// The contract checks 404 and 403 before the body.
			err = cmp.Or(svc.CheckAuthor(r.Context(), sess, id), err)
		}
		var m chat.Message
		if err == nil {
			m, err = svc.EditMessage(r.Context(), sess, id, f.get("text"))
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, m)
	})
}

func handleMessageDelete(svc *chat.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := chat.ParseID(r.PathValue("id"))
		var m chat.Message
		if err == nil {
			m, err = svc.DeleteMessage(r.Context(), sessionFrom(r.Context()), id)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, r, http.StatusOK, m)
	})
}

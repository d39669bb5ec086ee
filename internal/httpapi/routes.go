package httpapi

import "net/http"

// addRoutes registers every endpoint; this file is the whole API on one screen.
func addRoutes(mux *http.ServeMux, cfg Config, m *metrics) {
	svc, feed, log := cfg.Service, cfg.Feed, cfg.Logger
	auth := func(h http.Handler) http.Handler { return requireSession(svc, h) }

	mux.Handle("POST /api/users/register", handleRegister(svc))
	mux.Handle("POST /api/users/login", handleLogin(svc))
	mux.Handle("GET /api/users/authorized", auth(handleAuthorized()))
	mux.Handle("POST /api/users/logout", handleLogout(svc))
	mux.Handle("POST /api/users/logout_all", handleLogoutAll(svc))
	mux.Handle("GET /api/users/image/{id}", auth(handleAvatarGet(svc)))
	mux.Handle("PUT /api/users/image", auth(handleAvatarPut(svc)))
	mux.Handle("DELETE /api/users/image", auth(handleAvatarDelete(svc)))

	mux.Handle("GET /api/messages", auth(handleMessageList(svc, feed)))
	mux.Handle("POST /api/messages", auth(handleMessageCreate(svc)))
	mux.Handle("GET /api/messages/{id}", auth(handleMessageGet(svc)))
	mux.Handle("PUT /api/messages/{id}", auth(handleMessageUpdate(svc)))
	mux.Handle("DELETE /api/messages/{id}", auth(handleMessageDelete(svc)))
	mux.Handle("GET /api/messages/events", handleEvents(svc, feed, log))
	mux.Handle("POST /api/messages/events/ticket", auth(handleEventTicket(svc)))

	mux.Handle("GET /api/openapi.yaml", handleOpenAPI())
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(cfg.Ready))
	mux.Handle("GET /metrics", m.handler())
	// Unknown API paths must answer JSON even though "GET /" serves the client.
	mux.Handle("GET /api/", handleUnrouted(mux))
	if cfg.Web != nil {
		mux.Handle("GET /", cfg.Web)
	}
}

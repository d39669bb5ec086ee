package storetest

import (
	"bytes"
	"testing"
	"time"

	"chatd/internal/chat"
)

func sessionCases() []testCase {
	return []testCase{
		{"Sessions/CreateAndLoad", testCreateSession},
		{"Sessions/NotFound", testSessionNotFound},
		{"Sessions/Touch", testTouchSession},
		{"Sessions/Delete", testDeleteSession},
		{"Sessions/DeleteUserSessions", testDeleteUserSessions},
	}
}

func ticketCases() []testCase {
	return []testCase{
		{"Tickets/SingleUse", testTicketSingleUse},
		{"Tickets/Expire", testTicketExpires},
		{"Tickets/GoWithSession", testTicketGoesWithSession},
	}
}

// wantSession checks a loaded session against the one CreateSession returned.
func wantSession(t *testing.T, what string, got, want chat.Session, username string) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || !bytes.Equal(got.TokenHash, want.TokenHash) ||
		!got.Created.Equal(want.Created) || !got.LastSeen.Equal(want.LastSeen) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	if got.Username != username {
		t.Errorf("%s: got username %q, want %q", what, got.Username, username)
	}
}

func testCreateSession(t *testing.T, s chat.Store) {
	u := createUser(t, s, "Heidi")
	hash := chat.HashToken("token-1")
	sess, err := s.CreateSession(ctx(t), u.ID, hash, at(5))
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if sess.ID <= 0 || sess.UserID != u.ID || !bytes.Equal(sess.TokenHash, hash) {
		t.Errorf("CreateSession: got %+v, want a positive id, user %d, the given hash", sess, u.ID)
	}
	if !sess.Created.Equal(at(5)) || !sess.LastSeen.Equal(at(5)) {
		t.Errorf("CreateSession: got created %v, last seen %v, want both %v", sess.Created, sess.LastSeen, at(5))
	}
	byHash, err := s.SessionByTokenHash(ctx(t), hash)
	if err != nil {
		t.Fatalf("SessionByTokenHash: %v", err)
	}
	wantSession(t, "SessionByTokenHash", byHash, sess, "Heidi")
	byID, err := s.SessionByID(ctx(t), sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	wantSession(t, "SessionByID", byID, sess, "Heidi")
	// Each login is a session of its own; the first stays valid.
	second := createSession(t, s, u.ID, "token-2", at(6))
	if second.ID == sess.ID {
		t.Errorf("second session got the same id %d", sess.ID)
	}
	if _, err := s.SessionByTokenHash(ctx(t), hash); err != nil {
		t.Errorf("first session after a second login: %v", err)
	}
}

func testSessionNotFound(t *testing.T, s chat.Store) {
	u := createUser(t, s, "ivan")
	sess := createSession(t, s, u.ID, "token", at(0))
	_, err := s.SessionByTokenHash(ctx(t), chat.HashToken("other-token"))
	wantErr(t, "SessionByTokenHash of an unknown hash", err, chat.ErrNotFound)
	_, err = s.SessionByID(ctx(t), sess.ID+1000)
	wantErr(t, "SessionByID of a missing id", err, chat.ErrNotFound)
}

func testTouchSession(t *testing.T, s chat.Store) {
	u := createUser(t, s, "judy")
	sess := createSession(t, s, u.ID, "token", at(0))
	if err := s.TouchSession(ctx(t), sess.ID, at(3600)); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	got, err := s.SessionByID(ctx(t), sess.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if !got.LastSeen.Equal(at(3600)) || !got.Created.Equal(at(0)) {
		t.Errorf("after TouchSession: got created %v, last seen %v, want %v, %v", got.Created, got.LastSeen, at(0), at(3600))
	}
}

func testDeleteSession(t *testing.T, s chat.Store) {
	u := createUser(t, s, "mallory")
	sess := createSession(t, s, u.ID, "token-1", at(0))
	kept := createSession(t, s, u.ID, "token-2", at(0))
	before := lastEventID(t, s)
	if err := s.DeleteSession(ctx(t), sess.ID, at(10)); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err := s.SessionByTokenHash(ctx(t), sess.TokenHash)
	wantErr(t, "SessionByTokenHash of a deleted session", err, chat.ErrNotFound)
	_, err = s.SessionByID(ctx(t), sess.ID)
	wantErr(t, "SessionByID of a deleted session", err, chat.ErrNotFound)
	if _, err := s.SessionByID(ctx(t), kept.ID); err != nil {
		t.Errorf("the other session after DeleteSession: %v", err)
	}
	wantErr(t, "DeleteSession a second time", s.DeleteSession(ctx(t), sess.ID, at(11)), chat.ErrNotFound)
	evs := wantEvents(t, s, before, event(t, chat.EventSessionsRevoked,
		chat.SessionsRevokedData{UserID: u.ID, SessionIDs: []int64{sess.ID}}, at(10)))
	if !evs[0].RevokesSession(sess.ID) || evs[0].RevokesSession(kept.ID) {
		t.Errorf("event %s: want it to revoke session %d only", evs[0].Data, sess.ID)
	}
}

func testDeleteUserSessions(t *testing.T, s chat.Store) {
	u := createUser(t, s, "niaj")
	other := createUser(t, s, "olivia")
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, createSession(t, s, u.ID, name, at(0)).ID)
	}
	kept := createSession(t, s, other.ID, "d", at(0))
	before := lastEventID(t, s)
	if err := s.DeleteUserSessions(ctx(t), u.ID, at(20)); err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	for _, id := range ids {
		_, err := s.SessionByID(ctx(t), id)
		wantErr(t, "SessionByID after DeleteUserSessions", err, chat.ErrNotFound)
	}
	if _, err := s.SessionByID(ctx(t), kept.ID); err != nil {
		t.Errorf("another user's session after DeleteUserSessions: %v", err)
	}
	wantEvents(t, s, before, event(t, chat.EventSessionsRevoked,
		chat.SessionsRevokedData{UserID: u.ID, SessionIDs: ids}, at(20)))
	// A user without sessions is not an error (the event, if any, is not
	// specified: nothing can be listening for sessions that do not exist).
	if err := s.DeleteUserSessions(ctx(t), u.ID, at(21)); err != nil {
		t.Errorf("DeleteUserSessions of a user without sessions: got %v, want nil", err)
	}
}

func testTicketSingleUse(t *testing.T, s chat.Store) {
	u := createUser(t, s, "peggy")
	sess := createSession(t, s, u.ID, "token", at(0))
	ticket := chat.HashToken("ticket")
	if err := s.CreateTicket(ctx(t), sess.ID, ticket, at(60)); err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	got, err := s.RedeemTicket(ctx(t), ticket, at(1))
	if err != nil {
		t.Fatalf("RedeemTicket: %v", err)
	}
	// The stream opened with a ticket needs the same session a token gives.
	wantSession(t, "RedeemTicket", got, sess, "peggy")
	_, err = s.RedeemTicket(ctx(t), ticket, at(2))
	wantErr(t, "RedeemTicket a second time", err, chat.ErrNotFound)
	_, err = s.RedeemTicket(ctx(t), chat.HashToken("never-issued"), at(2))
	wantErr(t, "RedeemTicket of an unknown ticket", err, chat.ErrNotFound)
}

func testTicketExpires(t *testing.T, s chat.Store) {
	u := createUser(t, s, "rupert")
	sess := createSession(t, s, u.ID, "token", at(0))
	expires := at(60)
	for _, tc := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"early", at(59), true},
		{"late", at(61), false},
		{"much later", at(3600), false},
	} {
		ticket := chat.HashToken("ticket-" + tc.name)
		if err := s.CreateTicket(ctx(t), sess.ID, ticket, expires); err != nil {
			t.Fatalf("CreateTicket: %v", err)
		}
		_, err := s.RedeemTicket(ctx(t), ticket, tc.now)
		if tc.ok && err != nil {
			t.Errorf("%s: RedeemTicket before expiry: %v", tc.name, err)
		}
		if !tc.ok {
			wantErr(t, tc.name+": RedeemTicket after expiry", err, chat.ErrNotFound)
		}
	}
}

func testTicketGoesWithSession(t *testing.T, s chat.Store) {
	u := createUser(t, s, "sybil")
	sess := createSession(t, s, u.ID, "token", at(0))
	ticket := chat.HashToken("ticket")
	if err := s.CreateTicket(ctx(t), sess.ID, ticket, at(60)); err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	if err := s.DeleteSession(ctx(t), sess.ID, at(1)); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	// A ticket of a revoked session must not open a stream.
	_, err := s.RedeemTicket(ctx(t), ticket, at(2))
	wantErr(t, "RedeemTicket of a deleted session's ticket", err, chat.ErrNotFound)
}

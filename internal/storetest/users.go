package storetest

import (
	"bytes"
	"testing"

	"chatd/internal/chat"
)

func userCases() []testCase {
	return []testCase{
		{"Users/CreateAndLoad", testCreateUser},
		{"Users/CreateWithAvatar", testCreateUserWithAvatar},
		{"Users/LoginKeyUnique", testLoginKeyUnique},
		{"Users/NotFound", testUserNotFound},
		{"Users/SetAvatar", testSetAvatar},
		{"Users/SetAvatarMissingUser", testSetAvatarMissingUser},
	}
}

func testCreateUser(t *testing.T, s chat.Store) {
	u, err := s.CreateUser(ctx(t), chat.NewUser{
		Login: "Alice", LoginKey: chat.FoldLogin("Alice"), PasswordHash: "$argon2id$x", Created: at(0),
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID <= 0 {
		t.Errorf("got id %d, want a positive id", u.ID)
	}
	if u.Login != "Alice" || u.PasswordHash != "$argon2id$x" || !u.Created.Equal(at(0)) {
		t.Errorf("got %+v, want login Alice, hash $argon2id$x, created %v", u, at(0))
	}
	byKey, err := s.UserByLoginKey(ctx(t), chat.FoldLogin("alice"))
	if err != nil {
		t.Fatalf("UserByLoginKey: %v", err)
	}
	byID, err := s.UserByID(ctx(t), u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	for name, got := range map[string]chat.User{"UserByLoginKey": byKey, "UserByID": byID} {
		if got.ID != u.ID || got.Login != u.Login || got.PasswordHash != u.PasswordHash || !got.Created.Equal(u.Created) {
			t.Errorf("%s: got %+v, want %+v", name, got, u)
		}
	}
	other := createUser(t, s, "bob")
	if other.ID == u.ID {
		t.Errorf("second user got the same id %d", u.ID)
	}
	if _, err := s.AvatarByUserID(ctx(t), u.ID); err == nil {
		t.Errorf("AvatarByUserID of a user created without avatar: got nil error, want ErrNotFound")
	} else {
		wantErr(t, "AvatarByUserID without avatar", err, chat.ErrNotFound)
	}
}

func testCreateUserWithAvatar(t *testing.T, s chat.Store) {
	img := &chat.Avatar{ContentType: "image/png", Data: []byte("\x89PNG fake"), ETag: `"etag-1"`}
	u, err := s.CreateUser(ctx(t), chat.NewUser{
		Login: "carol", LoginKey: "carol", PasswordHash: "h", Avatar: img, Created: at(0),
	})
	if err != nil {
		t.Fatalf("CreateUser with avatar: %v", err)
	}
	wantAvatar(t, s, u.ID, img)
}

// wantAvatar checks the stored avatar of user; want nil means none.
func wantAvatar(t *testing.T, s chat.Store, user int64, want *chat.Avatar) {
	t.Helper()
	got, err := s.AvatarByUserID(ctx(t), user)
	if want == nil {
		wantErr(t, "AvatarByUserID of a user without avatar", err, chat.ErrNotFound)
		return
	}
	if err != nil {
		t.Fatalf("AvatarByUserID(%d): %v", user, err)
	}
	if got.UserID != user || got.ContentType != want.ContentType || got.ETag != want.ETag || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("AvatarByUserID(%d): got {%d %q %q %q}, want {%d %q %q %q}", user,
			got.UserID, got.ContentType, got.ETag, got.Data, user, want.ContentType, want.ETag, want.Data)
	}
}

func testLoginKeyUnique(t *testing.T, s chat.Store) {
	first := createUser(t, s, "Dave")
	img := &chat.Avatar{ContentType: "image/jpeg", Data: []byte("jpeg"), ETag: `"e"`}
	_, err := s.CreateUser(ctx(t), chat.NewUser{
		Login: "DAVE", LoginKey: chat.FoldLogin("DAVE"), PasswordHash: "other", Avatar: img, Created: at(1),
	})
	wantErr(t, "CreateUser with a taken login key", err, chat.ErrLoginTaken)
	got, err := s.UserByLoginKey(ctx(t), chat.FoldLogin("dave"))
	if err != nil {
		t.Fatalf("UserByLoginKey: %v", err)
	}
	if got.ID != first.ID || got.Login != "Dave" || got.PasswordHash != first.PasswordHash {
		t.Errorf("after a refused duplicate: got %+v, want the first user %+v", got, first)
	}
	// A failed registration creates nothing, not even the avatar.
	wantAvatar(t, s, first.ID, nil)
	if _, err := s.UserByID(ctx(t), first.ID+1); err == nil {
		t.Errorf("UserByID(%d) after a refused duplicate: got a user, want ErrNotFound", first.ID+1)
	}
}

func testUserNotFound(t *testing.T, s chat.Store) {
	u := createUser(t, s, "erin")
	_, err := s.UserByID(ctx(t), u.ID+1000)
	wantErr(t, "UserByID of a missing id", err, chat.ErrNotFound)
	_, err = s.UserByLoginKey(ctx(t), "nobody")
	wantErr(t, "UserByLoginKey of a missing key", err, chat.ErrNotFound)
	_, err = s.AvatarByUserID(ctx(t), u.ID+1000)
	wantErr(t, "AvatarByUserID of a missing user", err, chat.ErrNotFound)
	// The key is the folded login: the store itself does not fold.
	if unfolded := "erin"; unfolded != chat.FoldLogin(unfolded) {
		_, err = s.UserByLoginKey(ctx(t), unfolded)
		wantErr(t, "UserByLoginKey of an unfolded key", err, chat.ErrNotFound)
	}
	_, err = s.UserByLoginKey(ctx(t), chat.FoldLogin("ERIN"))
	if err != nil {
		t.Errorf("UserByLoginKey(FoldLogin(ERIN)): %v", err)
	}
}

func testSetAvatar(t *testing.T, s chat.Store) {
	u := createUser(t, s, "frank")
	before := lastEventID(t, s)
	first := &chat.Avatar{ContentType: "image/png", Data: []byte("png-1"), ETag: `"1"`}
	second := &chat.Avatar{ContentType: "image/jpeg", Data: []byte("jpeg-2"), ETag: `"2"`}
	steps := []*chat.Avatar{first, second, nil, nil}
	var want []chat.Event
	for i, a := range steps {
		if err := s.SetAvatar(ctx(t), u.ID, a, at(i+1)); err != nil {
			t.Fatalf("SetAvatar step %d: %v", i, err)
		}
		wantAvatar(t, s, u.ID, a)
		// Every call is an event, removing an absent avatar included: the
		// event says "look again", not what changed.
		want = append(want, event(t, chat.EventUserUpdated, chat.UserUpdatedData{UserID: u.ID}, at(i+1)))
	}
	wantEvents(t, s, before, want...)
}

func testSetAvatarMissingUser(t *testing.T, s chat.Store) {
	u := createUser(t, s, "grace")
	a := &chat.Avatar{ContentType: "image/png", Data: []byte("png"), ETag: `"x"`}
	wantErr(t, "SetAvatar of a missing user", s.SetAvatar(ctx(t), u.ID+1000, a, at(0)), chat.ErrNotFound)
	wantErr(t, "SetAvatar(nil) of a missing user", s.SetAvatar(ctx(t), u.ID+1000, nil, at(0)), chat.ErrNotFound)
	wantEvents(t, s, 0)
}

// Package chat is the domain of chatd: users, sessions, messages, avatars and
// events, the rules that govern them, and the storage contract that every
// store implements.
package chat

import "time"

// User is a registered account. Login is the spelling given at registration
// and is what the API shows as "username".
type User struct {
	ID           int64
	Login        string
	PasswordHash string
	Created      time.Time
}

// Session is one logged-in device. Only the SHA-256 of its token is stored.
type Session struct {
	ID        int64
	UserID    int64
	Username  string
	TokenHash []byte
	Created   time.Time
	LastSeen  time.Time
}

// Avatar is a user's stored image, already re-encoded by the image processor.
type Avatar struct {
	UserID      int64
	ContentType string
	Data        []byte
	// ETag is a strong validator of Data, quoted as HTTP wants it.
	ETag string
}

// Message is a chat message as the API returns it. Times are Unix seconds.
type Message struct {
	ID          int64  `json:"id"`
	Text        string `json:"text"`
	UserID      int64  `json:"userid"`
	Username    string `json:"username"`
	TimeCreated int64  `json:"timecreated"`
	TimeUpdated *int64 `json:"timeupdated"`
}

// NewUser is what a store needs to create a user.
type NewUser struct {
	Login        string
	LoginKey     string // FoldLogin(Login): the case-insensitive unique key
	PasswordHash string
	Avatar       *Avatar // nil when registering without an image
	Created      time.Time
}

// NewMessage is what a store needs to create a message.
type NewMessage struct {
	UserID int64
	Text   string
	// IdempotencyKey, when not empty, makes a repeated create by the same user
	// with the same key return the first message instead of a new one.
	IdempotencyKey string
	Created        time.Time
}

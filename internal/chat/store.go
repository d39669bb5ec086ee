package chat

import (
	"context"
	"time"
)

// Store is everything chatd keeps. internal/sqlite and internal/postgres
// implement it, and internal/storetest is its executable specification.
// Every change that clients can observe appends its event to the log in the
// same transaction, so the event log and the data never disagree.
type Store interface {
	Users
	Sessions
	Messages
	EventLog
	LoginThrottle
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Cleanup deletes what the policy says has expired.
	Cleanup(ctx context.Context, p CleanupPolicy) error
	// Close releases the database; the store is unusable afterwards.
	Close() error
}

// Users stores accounts and their avatars.
type Users interface {
	// CreateUser creates a user, and its avatar when u.Avatar is not nil, in
	// one transaction. It returns ErrLoginTaken when a user with u.LoginKey
	// exists.
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// UserByLoginKey returns the user whose FoldLogin key is key, or ErrNotFound.
	UserByLoginKey(ctx context.Context, key string) (User, error)
	// UserByID returns the user with id, or ErrNotFound.
	UserByID(ctx context.Context, id int64) (User, error)
	// AvatarByUserID returns the user's avatar, or ErrNotFound when the user
	// has none or does not exist.
	AvatarByUserID(ctx context.Context, userID int64) (Avatar, error)
	// SetAvatar replaces the user's avatar, or removes it when a is nil, and
	// appends a user.updated event. It returns ErrNotFound when the user does
	// not exist.
	SetAvatar(ctx context.Context, userID int64, a *Avatar, now time.Time) error
}

// Sessions stores logged-in devices and event-stream tickets.
type Sessions interface {
	// CreateSession stores a new session whose LastSeen is now.
	CreateSession(ctx context.Context, userID int64, tokenHash []byte, now time.Time) (Session, error)
	// SessionByTokenHash returns the session with that token hash, Username
	// filled from its user, or ErrNotFound.
	SessionByTokenHash(ctx context.Context, tokenHash []byte) (Session, error)
	// SessionByID returns the session with id, Username filled, or ErrNotFound.
	SessionByID(ctx context.Context, id int64) (Session, error)
	// TouchSession sets the session's LastSeen to now.
	TouchSession(ctx context.Context, id int64, now time.Time) error
	// DeleteSession deletes one session and appends a sessions.revoked event
	// naming it. It returns ErrNotFound when the session is already gone.
	DeleteSession(ctx context.Context, id int64, now time.Time) error
	// DeleteUserSessions deletes every session of the user and appends one
	// sessions.revoked event naming them all.
	DeleteUserSessions(ctx context.Context, userID int64, now time.Time) error
	// CreateTicket stores a single-use event-stream ticket for the session.
	CreateTicket(ctx context.Context, sessionID int64, ticketHash []byte, expires time.Time) error
	// RedeemTicket deletes the ticket and returns its session when the ticket
	// existed and had not expired at now; otherwise ErrNotFound.
	RedeemTicket(ctx context.Context, ticketHash []byte, now time.Time) (Session, error)
}

// Messages stores the chat's messages.
type Messages interface {
	// CreateMessage stores a message and appends a message.created event.
	// When m.IdempotencyKey is set and the same user created a message with
	// that key before (and Cleanup has not yet expired the key), it returns
	// that first message exactly as it was created and changes nothing.
	CreateMessage(ctx context.Context, m NewMessage) (Message, error)
	// MessageByID returns the message with id, or ErrNotFound.
	MessageByID(ctx context.Context, id int64) (Message, error)
	// ListMessages returns the messages q selects in ascending id order. It
	// reads O(q.Limit) rows, never all messages.
	ListMessages(ctx context.Context, q MessageQuery) ([]Message, error)
	// UpdateMessage replaces the text, sets TimeUpdated to now and appends a
	// message.updated event. It returns ErrNotFound when there is no message.
	UpdateMessage(ctx context.Context, id int64, text string, now time.Time) (Message, error)
	// DeleteMessage deletes the message, appends a message.deleted event and
	// returns the message as it was. It returns ErrNotFound when there is none.
	DeleteMessage(ctx context.Context, id int64, now time.Time) (Message, error)
}

// MessageQuery selects messages. With HasAfter or HasSince set it reads
// forward from that cursor, oldest first; otherwise it takes the newest Limit
// messages (below BeforeID when set). Conditions combine with AND.
type MessageQuery struct {
	Limit    int   // 1 to MaxListLimit
	HasAfter bool  // when true: id > AfterID
	AfterID  int64 // 0 or more
	BeforeID int64 // when > 0: id < BeforeID
	HasSince bool  // when true: timecreated > Since
	Since    int64 // Unix seconds
}

// Forward reports whether q reads oldest first from a cursor.
func (q MessageQuery) Forward() bool { return q.HasAfter || q.HasSince }

// EventLog is the ordered log of changes that realtime delivery reads.
type EventLog interface {
	// EventsAfter returns at most limit events with ID > afterID in ID order.
	// It returns ErrHistoryGone when events after afterID have been pruned.
	EventsAfter(ctx context.Context, afterID int64, limit int) ([]Event, error)
	// LastEventID returns the highest event ID, or 0 when the log is empty.
	LastEventID(ctx context.Context) (int64, error)
	// EventSignal returns a channel that receives a value after events may
	// have been appended, by this process or, on a shared database, by any
	// instance. Values are coalesced; it has a single reader, the hub.
	EventSignal() <-chan struct{}
}

// LoginThrottle counts failed logins per key (a folded login or a client
// address) so that brute force can be slowed across every instance.
type LoginThrottle interface {
	// LoginFailures returns how many failures were recorded for key at or
	// after since, and the earliest of them (zero time when none).
	LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error)
	// RecordLoginFailure records one failure for key at the given time.
	RecordLoginFailure(ctx context.Context, key string, at time.Time) error
	// ClearLoginFailures forgets every failure recorded for key.
	ClearLoginFailures(ctx context.Context, key string) error
}

// CleanupPolicy says what Store.Cleanup deletes.
type CleanupPolicy struct {
	Now time.Time
	// SessionIdle: sessions last seen before Now-SessionIdle are deleted,
	// each user's with one sessions.revoked event. Expired tickets go too.
	SessionIdle time.Duration
	// Events are pruned only when they are both older than KeepEventsFor and
	// not among the newest KeepEvents.
	KeepEvents    int
	KeepEventsFor time.Duration
	// IdempotencyFor: idempotency keys older than this are forgotten.
	IdempotencyFor time.Duration
	// LoginWindow: login failures older than this are forgotten.
	LoginWindow time.Duration
}

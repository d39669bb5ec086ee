package chat

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType names a change in the chat. The message and user types are sent
// to clients as they are; EventSessionsRevoked is internal: a stream whose
// session it names sends "session.revoked" and closes.
type EventType string

// The kinds of event the log records.
const (
	EventMessageCreated  EventType = "message.created"
	EventMessageUpdated  EventType = "message.updated"
	EventMessageDeleted  EventType = "message.deleted"
	EventUserUpdated     EventType = "user.updated"
	EventSessionsRevoked EventType = "sessions.revoked"
)

// Event is one entry of the ordered event log. IDs grow in commit order on
// every store, so a reader that remembers the last ID it saw never misses an
// event. Data is the JSON object a client receives.
type Event struct {
	ID      int64
	Type    EventType
	Data    json.RawMessage
	Created time.Time
}

// MessageDeletedData is the Data of a message.deleted event.
type MessageDeletedData struct {
	ID int64 `json:"id"`
}

// UserUpdatedData is the Data of a user.updated event.
type UserUpdatedData struct {
	UserID int64 `json:"userid"`
}

// SessionsRevokedData is the Data of a sessions.revoked event: the sessions
// of UserID that ended.
type SessionsRevokedData struct {
	UserID     int64   `json:"userid"`
	SessionIDs []int64 `json:"sessions"`
}

// NewEvent builds an event of type t whose Data is payload encoded as JSON.
// Stores call it inside the transaction that makes the change, so the log
// and the data never disagree.
func NewEvent(t EventType, payload any, created time.Time) (Event, error) {
	data, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s event: %w", t, err)
	}
	return Event{Type: t, Data: data, Created: created}, nil
}

// MessageID returns the id of the message an event is about, or 0 for an
// event that is not about a message.
func (e Event) MessageID() int64 {
	switch e.Type {
	case EventMessageCreated, EventMessageUpdated, EventMessageDeleted:
		var m struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(e.Data, &m) == nil {
			return m.ID
		}
	}
	return 0
}

// RevokesSession reports whether e ends the session with the given id.
func (e Event) RevokesSession(sessionID int64) bool {
	if e.Type != EventSessionsRevoked {
		return false
	}
	var d SessionsRevokedData
	if json.Unmarshal(e.Data, &d) != nil {
		return false
	}
	for _, id := range d.SessionIDs {
		if id == sessionID {
			return true
		}
	}
	return false
}

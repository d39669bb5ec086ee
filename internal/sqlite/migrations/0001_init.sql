-- The first schema of chatd on SQLite. Times are Unix seconds.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	login         TEXT    NOT NULL,
	login_key     TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	created       INTEGER NOT NULL
);

CREATE TABLE avatars (
	user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	content_type TEXT    NOT NULL,
	data         BLOB    NOT NULL,
	etag         TEXT    NOT NULL
);

-- AUTOINCREMENT so that a session id named by an old sessions.revoked event
-- never comes back as another session's.
CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash BLOB    NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

CREATE TABLE tickets (
	hash       BLOB    PRIMARY KEY,
	session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	expires    INTEGER NOT NULL
);
CREATE INDEX tickets_session_id ON tickets (session_id);
CREATE INDEX tickets_expires ON tickets (expires);

-- AUTOINCREMENT so that ids are never reused: a client polling with
-- after=<id of a deleted newest message> must still see the next one.
CREATE TABLE messages (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	text    TEXT    NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER
);
CREATE INDEX messages_created_id ON messages (created, id);
CREATE INDEX messages_user_id ON messages (user_id);

-- response is the JSON of the first answer, returned again on a retry.
CREATE TABLE idempotency_keys (
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	key      TEXT    NOT NULL,
	response TEXT    NOT NULL,
	created  INTEGER NOT NULL,
	PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

CREATE TABLE events (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	type    TEXT    NOT NULL,
	data    TEXT    NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE login_failures (
	key TEXT    NOT NULL,
	at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- meta holds small named values; 'events_horizon' is the highest pruned
-- event id, behind which EventsAfter answers chat.ErrHistoryGone.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

-- Messages of all instances (IMessageStore). Column names follow the seed schema (public.messages).
-- timestamp and created_at are ISO 8601 UTC text with exactly six fractional digits ("2026-11-22T03:04:05.123456Z"):
-- fixed width, so text order is time order. Booleans are 0/1. id (the rowid) is the insertion order.
-- media: JSON {"media_id", "content_type", "file_name", "size", "sha256"} or NULL; ack: none|pending|sent|delivered|read|failed;
-- published: the outbox flag, 0 until the message was published to its stream.
CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    instance_id         TEXT    NOT NULL,
    message_id          TEXT    NOT NULL,
    chat_id             TEXT    NOT NULL,
    from_number         TEXT,
    to_number           TEXT,
    message_body        TEXT    NOT NULL DEFAULT '',
    message_type        TEXT    NOT NULL DEFAULT 'text',
    is_from_me          INTEGER NOT NULL DEFAULT 0,
    is_group            INTEGER NOT NULL DEFAULT 0,
    group_id            TEXT,
    contact_name        TEXT,
    agent_id            TEXT,
    session_id          TEXT,
    reply_to_message_id TEXT,
    media               TEXT,
    ack                 TEXT    NOT NULL DEFAULT 'none',
    published           INTEGER NOT NULL DEFAULT 0,
    timestamp           TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    UNIQUE (instance_id, message_id)
);

-- A chat's history, newest first, keyset paging by (timestamp, message_id).
CREATE INDEX ix_messages_chat_history ON messages (instance_id, chat_id, timestamp DESC, message_id DESC);

-- Chats and contacts of an instance by recent activity.
CREATE INDEX ix_messages_instance_activity ON messages (instance_id, timestamp DESC);

-- The outbox: stored but not yet published, oldest first.
CREATE INDEX ix_messages_unpublished ON messages (id) WHERE published = 0;

-- Messages of all instances (IMessageStore). Column names follow the seed schema (public.messages); instance_id and
-- session_id are TEXT here (the runtime's ids are strings), timestamps are TIMESTAMPTZ (microseconds, UTC).
-- id is the insertion order (the outbox republishes oldest first). Ids are compared bytewise (COLLATE "C") so that
-- keyset paging orders the same way as SQLite and independently of the database locale.
-- media: JSON {"media_id", "content_type", "file_name", "size", "sha256"} or NULL; ack: none|pending|sent|delivered|read|failed;
-- published: the outbox flag, false until the message was published to its stream.
CREATE TABLE messages (
    id                  BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id         TEXT        COLLATE "C" NOT NULL,
    message_id          TEXT        COLLATE "C" NOT NULL,
    chat_id             TEXT        COLLATE "C" NOT NULL,
    from_number         TEXT,
    to_number           TEXT,
    message_body        TEXT        NOT NULL DEFAULT '',
    message_type        TEXT        NOT NULL DEFAULT 'text',
    is_from_me          BOOLEAN     NOT NULL DEFAULT FALSE,
    is_group            BOOLEAN     NOT NULL DEFAULT FALSE,
    group_id            TEXT,
    contact_name        TEXT,
    agent_id            TEXT,
    session_id          TEXT,
    reply_to_message_id TEXT,
    media               JSONB,
    ack                 TEXT        NOT NULL DEFAULT 'none',
    published           BOOLEAN     NOT NULL DEFAULT FALSE,
    timestamp           TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (instance_id, message_id)
);

-- A chat's history, newest first, keyset paging by (timestamp, message_id).
CREATE INDEX ix_messages_chat_history ON messages (instance_id, chat_id, timestamp DESC, message_id DESC);

-- Chats and contacts of an instance by recent activity.
CREATE INDEX ix_messages_instance_activity ON messages (instance_id, timestamp DESC);

-- The outbox: stored but not yet published, oldest first.
CREATE INDEX ix_messages_unpublished ON messages (id) WHERE NOT published;

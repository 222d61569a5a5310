-- Agent calls given up after their last attempt (src/Messengers.Agents/DeadLetters), listed and retried through
-- GET/POST /api/v1/instances/{id}/agent/dead-letters.
-- One row per (instance, first message of the batch): a redelivered batch that fails again updates its row.
-- message_ids: the incoming message ids sent to the agent as one (more than one with debounce);
-- text: what was sent (the joined bodies), kept so that a retry needs nothing else.
-- status: open (waiting for an operator) | resolved (a retry was answered).
CREATE TABLE agent_dead_letters (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id  TEXT        COLLATE "C" NOT NULL,
    chat_id      TEXT        COLLATE "C" NOT NULL,
    message_id   TEXT        COLLATE "C" NOT NULL,
    message_ids  JSONB       NOT NULL,
    sender       TEXT,
    is_group     BOOLEAN     NOT NULL DEFAULT FALSE,
    text         TEXT        NOT NULL,
    backend      TEXT        NOT NULL,
    agent_id     TEXT,
    reason       TEXT        NOT NULL,
    status_code  INTEGER,
    error        TEXT        NOT NULL,
    attempts     INTEGER     NOT NULL,
    status       TEXT        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    failed_at    TIMESTAMPTZ NOT NULL,
    resolved_at  TIMESTAMPTZ,
    UNIQUE (instance_id, message_id)
);

-- An instance's dead letters, newest first (the API's paging key is id).
CREATE INDEX ix_agent_dead_letters_instance ON agent_dead_letters (instance_id, id DESC);

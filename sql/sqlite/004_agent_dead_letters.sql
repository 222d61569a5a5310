-- Agent calls given up after their last attempt (src/Messengers.Agents/DeadLetters), listed and retried through
-- GET/POST /api/v1/instances/{id}/agent/dead-letters. Times are ISO 8601 UTC text with six fractional digits.
-- One row per (instance, first message of the batch): a redelivered batch that fails again updates its row.
-- message_ids: a JSON array of the incoming message ids sent to the agent as one (more than one with debounce);
-- text: what was sent (the joined bodies), kept so that a retry needs nothing else.
-- status: open (waiting for an operator) | resolved (a retry was answered).
CREATE TABLE agent_dead_letters (
    id           INTEGER PRIMARY KEY,
    instance_id  TEXT    NOT NULL,
    chat_id      TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    message_ids  TEXT    NOT NULL,
    sender       TEXT,
    is_group     INTEGER NOT NULL DEFAULT 0,
    text         TEXT    NOT NULL,
    backend      TEXT    NOT NULL,
    agent_id     TEXT,
    reason       TEXT    NOT NULL,
    status_code  INTEGER,
    error        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    failed_at    TEXT    NOT NULL,
    resolved_at  TEXT,
    UNIQUE (instance_id, message_id)
);

-- An instance's dead letters, newest first (the API's paging key is id).
CREATE INDEX ix_agent_dead_letters_instance ON agent_dead_letters (instance_id, id DESC);

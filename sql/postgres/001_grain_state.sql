-- Grain state: one row per (grain type, grain key, state name). The payload is the state serialized with
-- GrainJson; etag is an opaque token that changes on every write (optimistic concurrency).
CREATE TABLE grain_state (
    grain_type  TEXT        NOT NULL,
    grain_key   TEXT        NOT NULL,
    state_name  TEXT        NOT NULL,
    state_type  TEXT        NOT NULL,
    payload     JSONB       NOT NULL,
    etag        TEXT        NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (grain_type, grain_key, state_name)
);

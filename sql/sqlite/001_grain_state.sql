-- Grain state: one row per (grain type, grain key, state name). The payload is the state serialized with
-- GrainJson (JSON text); etag is an opaque token that changes on every write (optimistic concurrency);
-- updated_at is an ISO 8601 UTC timestamp.
CREATE TABLE grain_state (
    grain_type  TEXT NOT NULL,
    grain_key   TEXT NOT NULL,
    state_name  TEXT NOT NULL,
    state_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    etag        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (grain_type, grain_key, state_name)
) WITHOUT ROWID;

-- Webhook subscriptions and their durable outbox (src/Messengers.Grains/Webhooks).
-- Times are ISO 8601 UTC text with six fractional digits (as in 002_messages); booleans are 0/1.
-- secret and headers are encrypted with ISecretProtector (headers: a JSON object of name -> value, or NULL);
-- events: a JSON array of event names, ["*"] for all; format: envelope|flat.
CREATE TABLE webhook_subscriptions (
    id          TEXT    PRIMARY KEY,
    instance_id TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    events      TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    headers     TEXT,
    enabled     INTEGER NOT NULL DEFAULT 1,
    format      TEXT    NOT NULL DEFAULT 'envelope' CHECK (format IN ('envelope', 'flat')),
    created_at  TEXT    NOT NULL
);

CREATE INDEX ix_webhook_subscriptions_instance ON webhook_subscriptions (instance_id, created_at);

-- One row per (subscription, event): UNIQUE (subscription_id, event_id) makes a redelivered stream entry a no-op.
-- id (the rowid) is the outbox order; a subscription's rows are delivered strictly in id order.
-- status: pending (not tried yet) | failed (tried, waiting for its next attempt) | delivered | dead (gave up).
-- next_attempt_at doubles as a lease while a silo delivers the row. Rows are deleted with their subscription by
-- the store (foreign keys are not enforced on SQLite connections by default).
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    event_id         TEXT    NOT NULL,
    subscription_id  TEXT    NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    instance_id      TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TEXT    NOT NULL,
    delivered_at     TEXT,
    UNIQUE (subscription_id, event_id)
);

-- The head of each subscription's queue: its oldest open row.
CREATE INDEX ix_webhook_deliveries_queue ON webhook_deliveries (subscription_id, id) WHERE status IN ('pending', 'failed');

-- Open rows by due time.
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');

-- The delivery log of a subscription, newest first.
CREATE INDEX ix_webhook_deliveries_log ON webhook_deliveries (subscription_id, id DESC);

-- Finished rows by age, for the retention purge.
CREATE INDEX ix_webhook_deliveries_finished ON webhook_deliveries (created_at) WHERE status IN ('delivered', 'dead');

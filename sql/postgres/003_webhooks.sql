-- Webhook subscriptions and their durable outbox (src/Messengers.Grains/Webhooks).
-- secret and headers are encrypted with ISecretProtector (headers: a JSON object of name -> value, or NULL);
-- events: a JSON array of event names, ["*"] for all; format: envelope|flat.
CREATE TABLE webhook_subscriptions (
    id          TEXT        COLLATE "C" PRIMARY KEY,
    instance_id TEXT        COLLATE "C" NOT NULL,
    url         TEXT        NOT NULL,
    events      JSONB       NOT NULL,
    secret      TEXT        NOT NULL,
    headers     TEXT,
    enabled     BOOLEAN     NOT NULL DEFAULT TRUE,
    format      TEXT        NOT NULL DEFAULT 'envelope' CHECK (format IN ('envelope', 'flat')),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX ix_webhook_subscriptions_instance ON webhook_subscriptions (instance_id, created_at);

-- One row per (subscription, event): UNIQUE (subscription_id, event_id) makes a redelivered stream entry a no-op.
-- id is the outbox order; a subscription's rows are delivered strictly in id order.
-- status: pending (not tried yet) | failed (tried, waiting for its next attempt) | delivered | dead (gave up).
-- payload: the exact JSON body (JSON, not JSONB, so the text is kept byte for byte).
-- next_attempt_at doubles as a lease while a silo delivers the row.
CREATE TABLE webhook_deliveries (
    id               BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         TEXT        COLLATE "C" NOT NULL,
    subscription_id  TEXT        COLLATE "C" NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    instance_id      TEXT        COLLATE "C" NOT NULL,
    event_type       TEXT        NOT NULL,
    payload          JSON        NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
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

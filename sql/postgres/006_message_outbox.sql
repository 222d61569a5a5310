-- The outbox leaves the messages table. A message stored but not yet published on its stream has a row here, deleted
-- in batches once it was published (PublishedMarks). It used to be the flag messages.published, but that column is in
-- the predicate of the partial index ix_messages_unpublished, so every mark was a non-HOT update writing a new row
-- version and an entry in all five indexes of messages; deleting a row of this small table costs a fraction of that.
-- id is messages.id: the replay after a crash publishes oldest first.
CREATE TABLE message_outbox (
    instance_id TEXT   COLLATE "C" NOT NULL,
    message_id  TEXT   COLLATE "C" NOT NULL,
    id          BIGINT NOT NULL,
    PRIMARY KEY (instance_id, message_id)
);

INSERT INTO message_outbox (instance_id, message_id, id)
SELECT instance_id, message_id, id FROM messages WHERE NOT published;

DROP INDEX ix_messages_unpublished;
ALTER TABLE messages DROP COLUMN published;

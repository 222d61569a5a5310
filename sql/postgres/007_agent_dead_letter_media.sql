-- The media of the messages a dead letter holds (a JSON array of MediaRef: mediaId, contentType, fileName, size,
-- sha256), so that a retry sends the agent the same attachments as the first try. Rows from before: no media.
ALTER TABLE agent_dead_letters ADD COLUMN media JSONB NOT NULL DEFAULT '[]'::jsonb;

-- The sender's idempotency key of a message we sent (OutgoingMessage.ClientMessageId): a repeated send with the same
-- key finds the stored message instead of sending again. Kept on the row, so the fact costs no write of its own;
-- a chat's grain reads the client ids of its recent messages once per activation (no index needed).
ALTER TABLE messages ADD COLUMN client_message_id text;

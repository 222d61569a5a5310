-- ix_messages_instance_activity (instance_id, timestamp DESC) served no query: the chat and contact lists group all of
-- an instance's messages by chat (the unique key's instance_id prefix finds them), and history reads go through
-- ix_messages_chat_history. It was one more index entry to write for every stored message.
DROP INDEX IF EXISTS ix_messages_instance_activity;

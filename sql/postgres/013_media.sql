-- Media files when the silos share PostgreSQL (Messengers:Storage = postgres), so that media received through one
-- silo is served, forwarded and shown by every silo (src/Messengers.Data/Messages/PostgresMediaStore.cs).
-- media holds a file's metadata, media_chunks its bytes in pieces of chunk_size bytes (the last one shorter; a file of
-- 0 bytes has none). A file's rows are written in one transaction, so no silo ever sees a half-written file; the
-- chunks' foreign key is checked at that commit and deletes them with their file.
CREATE TABLE media (
    instance_id  TEXT        COLLATE "C" NOT NULL,
    media_id     TEXT        COLLATE "C" NOT NULL,
    content_type TEXT        NOT NULL,
    file_name    TEXT,
    size         BIGINT      NOT NULL CHECK (size >= 0),
    sha256       TEXT        NOT NULL,
    chunk_size   INTEGER     NOT NULL CHECK (chunk_size > 0),
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (instance_id, media_id)
);

CREATE TABLE media_chunks (
    instance_id TEXT    COLLATE "C" NOT NULL,
    media_id    TEXT    COLLATE "C" NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 0),
    data        BYTEA   NOT NULL,
    PRIMARY KEY (instance_id, media_id, seq),
    FOREIGN KEY (instance_id, media_id) REFERENCES media (instance_id, media_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);

-- Media is mostly compressed already (JPEG, MP4, OGG, PDF): keep chunks out of line without trying pglz on each.
ALTER TABLE media_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Orleans grain state (AddAdoNetGrainStorage, Invariant "Npgsql"), written for the query contract of
-- Microsoft.Orleans.Persistence.AdoNet 10.x. Orleans identifies a state by
--   ServiceId, GrainTypeString (the STATE NAME of [PersistentState("name", ...)], not the grain class),
--   GrainIdN0/GrainIdN1 (a Guid or integer key, else 0), GrainIdExtensionString (the string key, or a key
--   extension, or NULL) and two 32-bit hashes of these (GrainIdHash, GrainTypeHash) for a narrow index.
-- So two grain classes that use the same state name and the same key share one row: state names must be unique per
-- grain class. Version is the etag: every write must name the version it read (NULL = "nothing stored") and moves
-- it on by one; a write that names another version changes nothing and Orleans throws InconsistentStateException.
-- A cleared state keeps its row with PayloadBinary NULL and the next version (DeleteStateOnClear = false), or loses
-- its row (DeleteStateOnClear = true, DeleteStorageKey).
CREATE TABLE IF NOT EXISTS OrleansStorage (
    grainidhash            integer                NOT NULL,
    grainidn0              bigint                 NOT NULL,
    grainidn1              bigint                 NOT NULL,
    graintypehash          integer                NOT NULL,
    graintypestring        character varying(512) NOT NULL,
    grainidextensionstring character varying(512),
    serviceid              character varying(150) NOT NULL,
    payloadbinary          bytea,
    modifiedon             timestamptz            NOT NULL,
    version                integer
);

-- At most one row per state. Orleans' own script has no such key (only a plain index on the two hashes), so two
-- activations that both saw "nothing stored" could each insert a row, and every later read of that state would fail
-- on the duplicate. With the key, the second insert changes nothing and its writer gets InconsistentStateException.
-- The two strings go in as md5 digests: the index entry stays small whatever the key length (a B-tree entry is
-- limited to about 2.7 kB), and NULL (no string key) gets its own value ('' is not an md5 digest).
-- A table filled by Orleans' script could already hold such duplicates: stop with a message naming the remedy
-- rather than fail on the index with a bare unique violation.
DO $check$
DECLARE
    duplicated bigint;
BEGIN
    SELECT count(*) INTO duplicated
    FROM (
        SELECT 1
        FROM OrleansStorage
        GROUP BY grainidhash, graintypehash, grainidn0, grainidn1, serviceid, graintypestring, grainidextensionstring
        HAVING count(*) > 1
    ) AS states;
    IF duplicated > 0 THEN
        RAISE EXCEPTION 'OrleansStorage holds % grain state(s) in more than one row; keep the row with the highest version of each and delete the others, then start again', duplicated;
    END IF;
END;
$check$;

CREATE UNIQUE INDEX IF NOT EXISTS ux_orleansstorage_state ON OrleansStorage (
    grainidhash, graintypehash, grainidn0, grainidn1, serviceid,
    md5(graintypestring), coalesce(md5(grainidextensionstring), ''));

-- Orleans' script creates ix_orleansstorage (grainidhash, graintypehash): the unique index starts with the same
-- columns and serves the same lookups, so the old one would only cost writes.
DROP INDEX IF EXISTS ix_orleansstorage;

-- Writes a state and returns its new version, or NULL when nothing was written (the caller's version is stale, or
-- it believed nothing was stored while another writer had stored something).
CREATE OR REPLACE FUNCTION orleans_storage_write(
    p_grainidhash            integer,
    p_grainidn0              bigint,
    p_grainidn1              bigint,
    p_graintypehash          integer,
    p_graintypestring        varchar,
    p_grainidextensionstring varchar,
    p_serviceid              varchar,
    p_version                integer,
    p_payload                bytea)
RETURNS integer
LANGUAGE plpgsql
AS $body$
DECLARE
    written integer;
BEGIN
    IF p_version IS NULL THEN
        -- First write: the unique index lets exactly one of two racing writers in.
        INSERT INTO OrleansStorage
            (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring,
             serviceid, payloadbinary, modifiedon, version)
        VALUES
            (p_grainidhash, p_grainidn0, p_grainidn1, p_graintypehash, p_graintypestring, p_grainidextensionstring,
             p_serviceid, p_payload, now(), 1)
        ON CONFLICT DO NOTHING
        RETURNING version INTO written;
    ELSE
        UPDATE OrleansStorage
        SET payloadbinary = p_payload, modifiedon = now(), version = version + 1
        WHERE grainidhash = p_grainidhash AND graintypehash = p_graintypehash
          AND grainidn0 = p_grainidn0 AND grainidn1 = p_grainidn1
          AND serviceid = p_serviceid AND graintypestring = p_graintypestring
          AND grainidextensionstring IS NOT DISTINCT FROM p_grainidextensionstring
          AND version = p_version
        RETURNING version INTO written;
    END IF;
    RETURN written;
END;
$body$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
-- Returns PayloadBinary and Version of the state, or no row.
('ReadFromStorageKey', '
SELECT payloadbinary AS PayloadBinary, version AS Version
FROM OrleansStorage
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
  AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND serviceid = @ServiceId AND graintypestring = @GrainTypeString
  AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString;
'),
('WriteToStorageKey', '
SELECT orleans_storage_write(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
                             @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary) AS NewGrainStateVersion;
'),
-- Keeps the row without payload and moves the version on; no row back when the version is stale.
('ClearStorageKey', '
UPDATE OrleansStorage
SET payloadbinary = NULL, modifiedon = now(), version = version + 1
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
  AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND serviceid = @ServiceId AND graintypestring = @GrainTypeString
  AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
'),
-- Removes the row; returns the version after the one deleted (Orleans compares it with the etag it sent).
('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
  AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND serviceid = @ServiceId AND graintypestring = @GrainTypeString
  AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

-- Orleans grain state in the silo's SQLite file (AddAdoNetGrainStorage with Invariant "System.Data.SQLite", which
-- Orleans serves with Microsoft.Data.Sqlite; connection string "Data Source=<this file>"). Only persistence: an
-- embedded silo uses localhost clustering and in-memory reminders, so the clustering and reminder tables of
-- sql/postgres have no counterpart here.
-- Orleans loads the queries from OrleansQuery, binds parameters by name (@Name) and reads result columns by name.
-- A state is identified as described in sql/postgres/011_orleans_persistence.sql: GrainTypeString is the STATE NAME,
-- so state names must be unique per grain class. Version is the etag; a write naming another version changes
-- nothing and Orleans throws InconsistentStateException.
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS OrleansStorage (
    GrainIdHash            INTEGER NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainTypeHash          INTEGER NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdExtensionString TEXT,
    ServiceId              TEXT    NOT NULL,
    PayloadBinary          BLOB,
    ModifiedOn             TEXT    NOT NULL,
    Version                INTEGER
);

-- At most one row per state (so two racing first writes cannot both insert). SQLite treats NULLs as distinct in a
-- unique index, hence the extra "is NULL" column beside the string with NULL mapped to ''.
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_State ON OrleansStorage (
    GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId, GrainTypeString,
    GrainIdExtensionString IS NULL, ifnull(GrainIdExtensionString, ''));

-- Each query is a single command of Orleans; Microsoft.Data.Sqlite runs its statements one after another, each in
-- its own implicit transaction. The write is two statements of which at most one changes a row (an update when the
-- caller names a version, an insert when it names none), and each returns NewGrainStateVersion only when it wrote:
-- one row in all for a successful write, none for a refused one (Orleans then throws InconsistentStateException).
-- ModifiedOn is UTC, ISO 8601 with milliseconds, informational only.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadFromStorageKey', '
SELECT PayloadBinary, Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString;
'),
('WriteToStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = @PayloadBinary, ModifiedOn = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;

INSERT INTO OrleansStorage
    (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
     ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString,
       @ServiceId, @PayloadBinary, strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), 1
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING Version AS NewGrainStateVersion;
'),
-- Keeps the row without payload and moves the version on; no row back when the version is stale.
('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL, ModifiedOn = strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), Version = Version + 1
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
'),
-- DeleteStateOnClear = true: removes the row and returns the version after the one deleted. Orleans' own SQLite
-- script has no such query (so that option is refused there); it is cheap to offer and keeps the dialects alike.
('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
  AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

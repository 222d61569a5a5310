-- Orleans' ADO.NET providers (clustering, grain persistence, reminders) keep the SQL they run in this table, one row
-- per query key, and load it at silo start. Orleans binds parameters (@Name) and reads result columns by name, so a
-- query text may be rewritten freely as long as the names stay. The providers accept only these table and column
-- names (unquoted, so PostgreSQL folds them to orleansquery, querykey, querytext).
-- The rows are written by 010 (clustering), 011 (persistence) and 012 (reminders) with INSERT ... ON CONFLICT, so a
-- database where Orleans' own scripts were run by hand takes our texts over without an error.
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

namespace Messengers.Data.Tests.Migrations;

/// <summary>
/// What Orleans' own PostgreSQL scripts (Main, Clustering with the 3.7.0 migration, Persistence, Reminders) leave in a
/// database when an operator ran them by hand: the same tables, constraint and index names, their plpgsql functions
/// (names and signatures; the bodies here are stubs, since only a name clash could matter) and a row per query key.
/// Written for these tests from the shape of those scripts, not copied from them.
/// </summary>
public static class OrleansScriptsAppliedByHand
{
    /// <summary>The query keys of Orleans' PostgreSQL scripts for clustering, persistence and reminders.</summary>
    public static readonly string[] QueryKeys =
    [
        "UpdateIAmAlivetimeKey", "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "MembershipReadRowKey",
        "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "CleanupDefunctSiloEntriesKey",
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    /// <summary>The DDL, and a row per query key whose text is <see cref="LegacyQueryText"/>.</summary>
    public static string Schema => Tables + "\n" + string.Concat(QueryKeys.Select(key => $"INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('{key}', '{LegacyQueryText}');\n"));

    /// <summary>Stands for the query texts of Orleans' scripts.</summary>
    public const string LegacyQueryText = "SELECT 0 /* Orleans script */";

    private const string Tables = """
        CREATE TABLE OrleansQuery (
            QueryKey varchar(64) NOT NULL,
            QueryText varchar(8000) NOT NULL,
            CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey));

        CREATE TABLE OrleansMembershipVersionTable (
            DeploymentId varchar(150) NOT NULL,
            Timestamp timestamptz(3) NOT NULL DEFAULT now(),
            Version integer NOT NULL DEFAULT 0,
            CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId));

        CREATE TABLE OrleansMembershipTable (
            DeploymentId varchar(150) NOT NULL, Address varchar(45) NOT NULL, Port integer NOT NULL, Generation integer NOT NULL,
            SiloName varchar(150) NOT NULL, HostName varchar(150) NOT NULL, Status integer NOT NULL, ProxyPort integer NULL,
            SuspectTimes varchar(8000) NULL, StartTime timestamptz(3) NOT NULL, IAmAliveTime timestamptz(3) NOT NULL,
            CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
            CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId));

        CREATE TABLE OrleansStorage (
            grainidhash integer NOT NULL, grainidn0 bigint NOT NULL, grainidn1 bigint NOT NULL, graintypehash integer NOT NULL,
            graintypestring character varying(512) NOT NULL, grainidextensionstring character varying(512),
            serviceid character varying(150) NOT NULL, payloadbinary bytea, modifiedon timestamp without time zone NOT NULL, version integer);
        CREATE INDEX ix_orleansstorage ON orleansstorage USING btree (grainidhash, graintypehash);

        CREATE TABLE OrleansRemindersTable (
            ServiceId varchar(150) NOT NULL, GrainId varchar(150) NOT NULL, ReminderName varchar(150) NOT NULL,
            StartTime timestamptz(3) NOT NULL, Period bigint NOT NULL, GrainHash integer NOT NULL, Version integer NOT NULL,
            CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName PRIMARY KEY (ServiceId, GrainId, ReminderName));

        CREATE FUNCTION update_i_am_alive_time(deployment_id varchar, address_arg varchar, port_arg integer, generation_arg integer, i_am_alive_time timestamptz)
            RETURNS void LANGUAGE plpgsql AS $f$ BEGIN END $f$;
        CREATE FUNCTION insert_membership_version(DeploymentIdArg varchar)
            RETURNS TABLE(row_count integer) LANGUAGE plpgsql AS $f$ BEGIN RETURN QUERY SELECT 0; END $f$;
        CREATE FUNCTION insert_membership(DeploymentIdArg varchar, AddressArg varchar, PortArg integer, GenerationArg integer,
            SiloNameArg varchar, HostNameArg varchar, StatusArg integer, ProxyPortArg integer, StartTimeArg timestamptz,
            IAmAliveTimeArg timestamptz, VersionArg integer)
            RETURNS TABLE(row_count integer) LANGUAGE plpgsql AS $f$ BEGIN RETURN QUERY SELECT 0; END $f$;
        CREATE FUNCTION update_membership(DeploymentIdArg varchar, AddressArg varchar, PortArg integer, GenerationArg integer,
            StatusArg integer, SuspectTimesArg varchar, IAmAliveTimeArg timestamptz, VersionArg integer)
            RETURNS TABLE(row_count integer) LANGUAGE plpgsql AS $f$ BEGIN RETURN QUERY SELECT 0; END $f$;
        CREATE FUNCTION writetostorage(_grainidhash integer, _grainidn0 bigint, _grainidn1 bigint, _graintypehash integer,
            _graintypestring varchar, _grainidextensionstring varchar, _serviceid varchar, _grainstateversion integer, _payloadbinary bytea)
            RETURNS TABLE(newgrainstateversion integer) LANGUAGE plpgsql AS $f$ BEGIN RETURN QUERY SELECT 0; END $f$;
        CREATE FUNCTION upsert_reminder_row(ServiceIdArg varchar, GrainIdArg varchar, ReminderNameArg varchar,
            StartTimeArg timestamptz, PeriodArg bigint, GrainHashArg integer)
            RETURNS TABLE(version integer) LANGUAGE plpgsql AS $f$ BEGIN RETURN QUERY SELECT 0; END $f$;
        CREATE FUNCTION delete_reminder_row(ServiceIdArg varchar, GrainIdArg varchar, ReminderNameArg varchar, VersionArg integer)
            RETURNS TABLE(row_count integer) LANGUAGE plpgsql AS $f$ BEGIN RETURN QUERY SELECT 0; END $f$;

        """;
}

using Messengers.Data.Migrations;

namespace Messengers.Data.Tests.Migrations;

/// <summary>
/// The checksums of the embedded migrations, as recorded in the schema_migrations of every database they were applied
/// to. A silo refuses to start when a file's checksum differs from the recorded one, so an edited file would stop
/// every existing deployment: this test fails first. A new migration adds its line here.
/// </summary>
public sealed class MigrationChecksumTests
{
    private static readonly Dictionary<string, string> Postgres = new(StringComparer.Ordinal)
    {
        ["001_grain_state"] = "542a46f2778177b0ea3648670508f088e080a1c2745a70ced17009ddf3b36b02",
        ["002_messages"] = "68084adcf6ee00712b8275b3a25eee572e923b6d90c717b3d85600e64650a830",
        ["003_webhooks"] = "21fdc204d797183a45001a201284c7ee72a867a5cbdc1861e2db43bf554723f4",
        ["004_agent_dead_letters"] = "2c177ac87575f63193b9fa88ad9f4de0f3c4a59d254a3b43bb8e55a85934ca0f",
        ["005_message_client_ids"] = "c5e61a833c00c7d72ab19e6fcd04004aec433d79c1318ccd880d5faeb0e8b293",
        ["006_message_outbox"] = "bd9d8ee0a91ac20b8aea32dd0ed06ad39133c6623335388043f9e113ff10219d",
        ["007_agent_dead_letter_media"] = "d7ef3b83fd0118516740262c58f80d5bd0233f616475cdad17eccd29a941aebb",
        ["008_drop_instance_activity_index"] = "8a77911da48c6e4d87ed077705a9c2facd675d14af86bfbaf75c801d4502a1da",
        ["009_orleans_query"] = "c2c1eb8349307bce5f99d6a7938b195ec65d261c058f5595ba5ea8cbc585f7af",
        ["010_orleans_clustering"] = "40327664da2154a29fc39dada979cb9bee5e5b891574e2507ae9cad9977f65e2",
        ["011_orleans_persistence"] = "4545ce0760c8f74a08de03b5817a1a2a00f4af4a51a1588494ade023752240b7",
        ["012_orleans_reminders"] = "ed7f89e2a8f9537b7387a463e93e52741430dbafbb70491452a6a128a34b8dbc",
        ["013_media"] = "38e3ff0ae83b2bcecc0bec5516ee562f0ea0793d3d30bb15e4588c9bd660ef62",
    };

    private static readonly Dictionary<string, string> Sqlite = new(StringComparer.Ordinal)
    {
        ["001_grain_state"] = "a55f2c6243958a1be9b6a07170fb886cf33db435d93c20b78bec656364ae9f2c",
        ["002_messages"] = "d4de66222dad35ac74559c80f261a7e8d5c397969faf699d343030e52eb82589",
        ["003_webhooks"] = "f7426f491dc41f3afd5a7085326ff22212cd1f7fe1f00ce05500a061d302b57d",
        ["004_agent_dead_letters"] = "b7cad90b6f0f280b565d72573f78b393fd6d9ce6ee4f995dba6d17a971b0f2b0",
        ["005_message_client_ids"] = "75656e0a4bd012cbaf25bfe3741f379995de4b145897f737443d70407fa357c7",
        ["007_agent_dead_letter_media"] = "1a8d9fa42ef25ad53e381dd7b1dcc654d430c5c413e7e16c917cbc40412bc873",
        ["008_drop_instance_activity_index"] = "8a77911da48c6e4d87ed077705a9c2facd675d14af86bfbaf75c801d4502a1da",
        ["009_orleans_persistence"] = "5caf853adfbc8433c3170b3fc07a7517488780a3bb8a9034e229649403459f60",
    };

    [Theory]
    [InlineData(SqlDialect.Postgres)]
    [InlineData(SqlDialect.Sqlite)]
    public void Checksums_EmbeddedMigrations_MatchTheRecordedOnes(SqlDialect dialect)
    {
        var recorded = dialect == SqlDialect.Postgres ? Postgres : Sqlite;
        var embedded = MigrationSet.For(dialect).ToDictionary(m => m.ToString(), m => m.Checksum, StringComparer.Ordinal);

        foreach (var (migration, checksum) in recorded)
        {
            Assert.True(embedded.TryGetValue(migration, out var actual), $"sql/{MigrationSet.FolderName(dialect)}/{migration}.sql is gone; applied migrations must stay.");
            Assert.True(checksum == actual, $"sql/{MigrationSet.FolderName(dialect)}/{migration}.sql was edited after it was applied; put the change in a new migration.");
        }

        Assert.True(
            embedded.Keys.All(recorded.ContainsKey),
            $"Record the checksum of each new migration in {nameof(MigrationChecksumTests)}: {string.Join(", ", embedded.Keys.Except(recorded.Keys))}.");
    }
}

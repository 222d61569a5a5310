using Messengers.Testing;

namespace Messengers.Data.Tests.Orleans;

/// <summary>
/// The Orleans tests on PostgreSQL share a server of their own, so they run beside the store tests (collection
/// <see cref="PostgresCollection"/>) rather than after them; within the collection the silos start one test at a time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class OrleansPostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "orleans-postgres";
}

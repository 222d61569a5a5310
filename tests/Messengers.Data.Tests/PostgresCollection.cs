using Messengers.Testing;

namespace Messengers.Data.Tests;

/// <summary>One throwaway PostgreSQL server for the test classes of this collection; each test makes its own database.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

using Messengers.Testing;

namespace Messengers.Webhooks.Tests;

/// <summary>One throwaway PostgreSQL server for the test classes of this collection; each class makes its own database.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

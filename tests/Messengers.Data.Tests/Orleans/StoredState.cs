namespace Messengers.Data.Tests.Orleans;

/// <summary>A row of OrleansStorage as the database holds it.</summary>
public sealed record StoredState(int? Version, bool HasPayload);

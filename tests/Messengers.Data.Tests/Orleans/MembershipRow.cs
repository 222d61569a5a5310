namespace Messengers.Data.Tests.Orleans;

/// <summary>A row of OrleansMembershipTable as the database holds it.</summary>
public sealed record MembershipRow(string Address, int Port, int Generation, int Status, string? SuspectTimes, DateTimeOffset StartTime, DateTimeOffset IAmAliveTime);

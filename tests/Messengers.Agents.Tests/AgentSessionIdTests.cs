namespace Messengers.Agents.Tests;

public sealed class AgentSessionIdTests
{
    // Vectors computed independently with Python:
    // uuid.uuid5(uuid.UUID("90094364-3bea-46ee-a275-0488394736ef"), "support:79001234567@c.us")
    [Theory]
    [InlineData("support", "79001234567@c.us", "560da04a-9b4a-55d6-83ba-016a6484e0ef")]
    [InlineData("агент", "chat-1", "11879e3f-efd3-5162-a8b5-bc28ad3182ba")]
    public void For_AgentAndChat_MatchesPythonUuid5(string agentId, string chatId, string expected)
    {
        Assert.Equal(expected, AgentSessionId.For(agentId, chatId));
    }

    [Fact]
    public void Uuid5_RfcDnsNamespaceExample_MatchesPython()
    {
        // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        var dns = new Guid("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        Assert.Equal(new Guid("886313e1-3b8a-5372-9b90-0c9aee199e5d"), AgentSessionId.Uuid5(dns, "python.org"));
    }

    [Fact]
    public void For_DifferentChats_GiveDifferentStableIds()
    {
        var a = AgentSessionId.For("support", "chat-1");
        Assert.Equal(a, AgentSessionId.For("support", "chat-1"));
        Assert.NotEqual(a, AgentSessionId.For("support", "chat-2"));
        Assert.NotEqual(a, AgentSessionId.For("sales", "chat-1"));
        Assert.Equal('5', a[14]);
    }
}

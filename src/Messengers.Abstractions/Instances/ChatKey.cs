namespace Messengers.Abstractions.Instances;

/// <summary>The key of a chat's grains and streams: <c>{instanceId}/{chatId}</c> (instance ids never contain a slash).</summary>
public static class ChatKey
{
    public static string For(string instanceId, string chatId) => $"{instanceId}/{chatId}";

    public static (string InstanceId, string ChatId) Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (key[..slash], key[(slash + 1)..]);
    }
}

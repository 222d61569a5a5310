namespace Messengers.Runtime.Streams;

/// <summary>Identifies a stream: a namespace (for example "inbound") and a key (for example an instance id).</summary>
public readonly record struct StreamId(string Namespace, string Key)
{
    public static StreamId Create(string streamNamespace, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamNamespace);
        ArgumentNullException.ThrowIfNull(key);
        return new StreamId(streamNamespace, key);
    }

    public override string ToString() => $"{Namespace}/{Key}";
}

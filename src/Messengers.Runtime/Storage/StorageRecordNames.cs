using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Messengers.Runtime.Serialization;

namespace Messengers.Runtime.Storage;

/// <summary>Helpers shared by the database storage providers: etags and the readable state type column.</summary>
internal static class StorageRecordNames
{
    // A random per-process prefix plus a counter: unique across silos and restarts, so a record that is cleared
    // and recreated never gets an etag a stale holder could still carry.
    private static readonly string Prefix = RandomNumberGenerator.GetHexString(12, lowercase: true);
    private static long _counter;
    private static readonly ConcurrentDictionary<Type, string> TypeNames = new();

    public static string NextEtag()
        => string.Create(CultureInfo.InvariantCulture, $"{Prefix}-{Interlocked.Increment(ref _counter):x}");

    /// <summary>Puts a stored record (or its absence, when <paramref name="payload"/> is null) into <paramref name="grainState"/>.</summary>
    public static void Load<T>(IGrainState<T> grainState, string? payload, string? etag)
    {
        grainState.State = payload is null ? grainState.State : GrainJson.Deserialize<T>(payload);
        grainState.ETag = payload is null ? null : etag;
        grainState.RecordExists = payload is not null;
    }

    /// <summary>A short readable name of a state type, e.g. <c>Messengers.Grains.InstanceState</c> or <c>List&lt;String&gt;</c>; informational only.</summary>
    public static string StateType<T>() => TypeNames.GetOrAdd(typeof(T), static t => Format(t, full: true));

    private static string Format(Type type, bool full)
    {
        if (!type.IsGenericType)
        {
            return full ? type.FullName ?? type.Name : type.Name;
        }

        var name = full ? type.GetGenericTypeDefinition().FullName ?? type.Name : type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var builder = new StringBuilder(tick < 0 ? name : name[..tick]).Append('<');
        builder.AppendJoin(',', type.GetGenericArguments().Select(a => Format(a, full: false)));
        return builder.Append('>').ToString();
    }
}

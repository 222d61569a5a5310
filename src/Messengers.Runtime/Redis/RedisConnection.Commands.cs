using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Messengers.Runtime.Redis;

/// <summary>A stream entry: its id and its fields (name/value pairs in the order stored).</summary>
public sealed record RedisStreamEntry(string Id, IReadOnlyList<KeyValuePair<string, RedisResult>> Fields)
{
    /// <summary>The value of the first field named <paramref name="name"/>, or null.</summary>
    public RedisResult? Get(string name)
    {
        foreach (var (field, value) in Fields)
        {
            if (string.Equals(field, name, StringComparison.Ordinal))
            {
                return value;
            }
        }

        return null;
    }
}

/// <summary>The entries XREADGROUP returned for one key.</summary>
public sealed record RedisStreamReadResult(string Key, IReadOnlyList<RedisStreamEntry> Entries);

/// <summary>The summary form of XPENDING.</summary>
public sealed record RedisPendingSummary(long Count, string? LowestId, string? HighestId, IReadOnlyDictionary<string, long> Consumers);

/// <summary>One row of the extended form of XPENDING.</summary>
public sealed record RedisPendingEntry(string Id, string Consumer, TimeSpan Idle, long DeliveryCount);

/// <summary>The reply of XAUTOCLAIM: where to continue, the claimed entries, and ids that were deleted meanwhile (Redis 7+).</summary>
public sealed record RedisAutoClaimResult(string NextStartId, IReadOnlyList<RedisStreamEntry> Entries, IReadOnlyList<string> DeletedIds);

/// <summary>Typed helpers over <see cref="ExecuteAsync(object[], TimeSpan?, CancellationToken)"/>.</summary>
public sealed partial class RedisConnection
{
    private readonly ConcurrentDictionary<string, string> _scriptHashes = new(StringComparer.Ordinal);

    public async Task<string> PingAsync(CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, "PING")).AsString()!;

    public Task<RedisResult> GetAsync(string key, CancellationToken cancellationToken = default) => Run(cancellationToken, "GET", key);

    public async Task<string?> GetStringAsync(string key, CancellationToken cancellationToken = default) => (await GetAsync(key, cancellationToken)).AsString();

    /// <summary>SET with an optional expiry (EX/PX) and NX; returns false when NX prevented the write.</summary>
    public async Task<bool> SetAsync(string key, object value, TimeSpan? expiry = null, bool onlyIfNotExists = false, CancellationToken cancellationToken = default)
    {
        var args = new List<object>(6) { "SET", key, value };
        if (expiry is { } e)
        {
            if (e.Ticks % TimeSpan.TicksPerSecond == 0)
            {
                args.Add("EX");
                args.Add((long)e.TotalSeconds);
            }
            else
            {
                args.Add("PX");
                args.Add(Math.Max(1, (long)e.TotalMilliseconds));
            }
        }

        if (onlyIfNotExists)
        {
            args.Add("NX");
        }

        return !(await ExecuteAsync([.. args], null, cancellationToken)).IsNull;
    }

    public async Task<long> DelAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, ["DEL", .. keys])).AsInt64();

    public Task<long> DelAsync(string key, CancellationToken cancellationToken = default) => DelAsync([key], cancellationToken);

    /// <summary>EXPIRE (PEXPIRE when <paramref name="expiry"/> is not whole seconds); false when the key does not exist.</summary>
    public async Task<bool> ExpireAsync(string key, TimeSpan expiry, CancellationToken cancellationToken = default)
        => (expiry.Ticks % TimeSpan.TicksPerSecond == 0
            ? await Run(cancellationToken, "EXPIRE", key, (long)expiry.TotalSeconds)
            : await Run(cancellationToken, "PEXPIRE", key, (long)expiry.TotalMilliseconds)).AsInt64() == 1;

    public async Task<long> IncrAsync(string key, CancellationToken cancellationToken = default) => (await Run(cancellationToken, "INCR", key)).AsInt64();

    public async Task<long> HSetAsync(string key, string field, object value, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, "HSET", key, field, value)).AsInt64();

    public async Task<long> HSetAsync(string key, IEnumerable<KeyValuePair<string, object>> fields, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var args = new List<object> { "HSET", key };
        foreach (var (field, value) in fields)
        {
            args.Add(field);
            args.Add(value);
        }

        return (await ExecuteAsync([.. args], null, cancellationToken)).AsInt64();
    }

    public Task<RedisResult> HGetAsync(string key, string field, CancellationToken cancellationToken = default) => Run(cancellationToken, "HGET", key, field);

    public async Task<long> HDelAsync(string key, IReadOnlyCollection<string> fields, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, ["HDEL", key, .. fields])).AsInt64();

    public async Task<Dictionary<string, RedisResult>> HGetAllAsync(string key, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, "HGETALL", key)).ToDictionary();

    public async Task<long> SAddAsync(string key, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, ["SADD", key, .. members])).AsInt64();

    public Task<long> SAddAsync(string key, string member, CancellationToken cancellationToken = default) => SAddAsync(key, [member], cancellationToken);

    public async Task<long> SRemAsync(string key, IReadOnlyCollection<string> members, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, ["SREM", key, .. members])).AsInt64();

    public async Task<IReadOnlyList<string>> SMembersAsync(string key, CancellationToken cancellationToken = default)
        => Strings(await Run(cancellationToken, "SMEMBERS", key));

    public async Task<long> PublishAsync(string channel, object message, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, "PUBLISH", channel, message)).AsInt64();

    // ---- streams ----

    /// <summary>XADD with one field; <paramref name="maxLength"/> trims with MAXLEN (~ when <paramref name="approximate"/>). Returns the entry id.</summary>
    public async Task<string> XAddAsync(string key, string field, object value, long? maxLength = null, bool approximate = true, CancellationToken cancellationToken = default)
    {
        object[] args = maxLength is { } max
            ? ["XADD", key, "MAXLEN", approximate ? "~" : "=", max, "*", field, value]
            : ["XADD", key, "*", field, value];
        return (await ExecuteAsync(args, null, cancellationToken)).AsString()!;
    }

    public async Task<string> XAddAsync(string key, IReadOnlyCollection<KeyValuePair<string, object>> fields, long? maxLength = null, bool approximate = true, string id = "*", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var args = new object[2 + (maxLength is null ? 0 : 3) + 1 + (fields.Count * 2)];
        var i = 0;
        args[i++] = "XADD";
        args[i++] = key;
        if (maxLength is { } max)
        {
            args[i++] = "MAXLEN";
            args[i++] = approximate ? "~" : "=";
            args[i++] = max;
        }

        args[i++] = id;
        foreach (var (field, value) in fields)
        {
            args[i++] = field;
            args[i++] = value;
        }

        return (await ExecuteAsync(args, null, cancellationToken)).AsString()!;
    }

    /// <summary>XGROUP CREATE (with MKSTREAM by default); returns false when the group exists already (BUSYGROUP).</summary>
    public async Task<bool> XGroupCreateAsync(string key, string group, string startId = "$", bool makeStream = true, CancellationToken cancellationToken = default)
    {
        try
        {
            await (makeStream ? Run(cancellationToken, "XGROUP", "CREATE", key, group, startId, "MKSTREAM") : Run(cancellationToken, "XGROUP", "CREATE", key, group, startId));
            return true;
        }
        catch (RedisServerException exception) when (exception.Is("BUSYGROUP"))
        {
            return false;
        }
    }

    /// <summary>
    /// XREADGROUP over several keys. <paramref name="ids"/> defaults to "&gt;" (new entries) for every key. With
    /// <paramref name="block"/> the server waits up to that long for entries; an empty list means none came. Blocking
    /// stalls every other command of this connection: use a dedicated connection.
    /// </summary>
    public async Task<IReadOnlyList<RedisStreamReadResult>> XReadGroupAsync(
        string group,
        string consumer,
        IReadOnlyList<string> keys,
        int? count = null,
        TimeSpan? block = null,
        IReadOnlyList<string>? ids = null,
        bool noAck = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            throw new ArgumentException("XREADGROUP needs at least one key.", nameof(keys));
        }

        if (ids is not null && ids.Count != keys.Count)
        {
            throw new ArgumentException("One id per key.", nameof(ids));
        }

        var args = new List<object>(8 + (keys.Count * 2)) { "XREADGROUP", "GROUP", group, consumer };
        if (count is { } c)
        {
            args.Add("COUNT");
            args.Add(c);
        }

        TimeSpan? timeout = null;
        if (block is { } b)
        {
            var ms = Math.Max(1, (long)Math.Ceiling(b.TotalMilliseconds)); // BLOCK 0 would wait forever
            args.Add("BLOCK");
            args.Add(ms);
            timeout = TimeSpan.FromMilliseconds(ms) + Options.CommandTimeout;
        }

        if (noAck)
        {
            args.Add("NOACK");
        }

        args.Add("STREAMS");
        args.AddRange(keys);
        for (var i = 0; i < keys.Count; i++)
        {
            args.Add(ids?[i] ?? ">");
        }

        var reply = await ExecuteAsync([.. args], timeout, cancellationToken);
        if (reply.IsNull)
        {
            return [];
        }

        var results = new List<RedisStreamReadResult>(reply.Count);
        foreach (var stream in reply.AsSpan())
        {
            results.Add(new RedisStreamReadResult(stream[0].AsString()!, Entries(stream[1])));
        }

        return results;
    }

    public async Task<long> XAckAsync(string key, string group, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, ["XACK", key, group, .. ids])).AsInt64();

    public Task<long> XAckAsync(string key, string group, string id, CancellationToken cancellationToken = default) => XAckAsync(key, group, [id], cancellationToken);

    public async Task<RedisPendingSummary> XPendingAsync(string key, string group, CancellationToken cancellationToken = default)
    {
        var reply = await Run(cancellationToken, "XPENDING", key, group);
        var consumers = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var row in reply[3].AsSpan())
        {
            consumers[row[0].AsString()!] = row[1].AsInt64();
        }

        return new RedisPendingSummary(reply[0].AsInt64(), reply[1].AsString(), reply[2].AsString(), consumers);
    }

    /// <summary>The extended form: pending entries between <paramref name="start"/> and <paramref name="end"/>, optionally idle at least <paramref name="minIdle"/> and of one consumer.</summary>
    public async Task<IReadOnlyList<RedisPendingEntry>> XPendingAsync(
        string key,
        string group,
        string start,
        string end,
        int count,
        string? consumer = null,
        TimeSpan? minIdle = null,
        CancellationToken cancellationToken = default)
    {
        var args = new List<object>(9) { "XPENDING", key, group };
        if (minIdle is { } idle)
        {
            args.Add("IDLE");
            args.Add((long)idle.TotalMilliseconds);
        }

        args.Add(start);
        args.Add(end);
        args.Add(count);
        if (consumer is not null)
        {
            args.Add(consumer);
        }

        var reply = await ExecuteAsync([.. args], null, cancellationToken);
        var rows = new List<RedisPendingEntry>(reply.Count);
        foreach (var row in reply.AsSpan())
        {
            rows.Add(new RedisPendingEntry(row[0].AsString()!, row[1].AsString()!, TimeSpan.FromMilliseconds(row[2].AsInt64()), row[3].AsInt64()));
        }

        return rows;
    }

    /// <summary>XAUTOCLAIM: claims for <paramref name="consumer"/> entries pending longer than <paramref name="minIdle"/>, scanning from <paramref name="start"/>.</summary>
    public async Task<RedisAutoClaimResult> XAutoClaimAsync(string key, string group, string consumer, TimeSpan minIdle, string start = "0-0", int count = 100, CancellationToken cancellationToken = default)
    {
        var reply = await Run(cancellationToken, "XAUTOCLAIM", key, group, consumer, (long)minIdle.TotalMilliseconds, start, "COUNT", count);
        var deleted = reply.Count > 2 ? Strings(reply[2]) : [];
        return new RedisAutoClaimResult(reply[0].AsString()!, Entries(reply[1]), deleted);
    }

    /// <summary>XCLAIM: takes over entries idle at least <paramref name="minIdle"/>. <paramref name="idle"/> sets their idle time; <paramref name="justId"/> leaves the delivery count alone and returns no fields.</summary>
    public async Task<IReadOnlyList<RedisStreamEntry>> XClaimAsync(
        string key,
        string group,
        string consumer,
        TimeSpan minIdle,
        IReadOnlyCollection<string> ids,
        TimeSpan? idle = null,
        bool justId = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var args = new List<object>(8 + ids.Count) { "XCLAIM", key, group, consumer, (long)minIdle.TotalMilliseconds };
        args.AddRange(ids);
        if (idle is { } i)
        {
            args.Add("IDLE");
            args.Add((long)i.TotalMilliseconds);
        }

        if (justId)
        {
            args.Add("JUSTID");
        }

        var reply = await ExecuteAsync([.. args], null, cancellationToken);
        if (justId)
        {
            return [.. reply.AsSpan().ToArray().Select(r => new RedisStreamEntry(r.AsString()!, []))];
        }

        return Entries(reply);
    }

    public async Task<Dictionary<string, RedisResult>> XInfoStreamAsync(string key, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, "XINFO", "STREAM", key)).ToDictionary();

    public async Task<IReadOnlyList<Dictionary<string, RedisResult>>> XInfoGroupsAsync(string key, CancellationToken cancellationToken = default)
        => [.. (await Run(cancellationToken, "XINFO", "GROUPS", key)).ToArray().Select(g => g.ToDictionary())];

    public async Task<long> XLenAsync(string key, CancellationToken cancellationToken = default) => (await Run(cancellationToken, "XLEN", key)).AsInt64();

    public async Task<long> XDelAsync(string key, IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, ["XDEL", key, .. ids])).AsInt64();

    public async Task<long> XTrimAsync(string key, long maxLength, bool approximate = true, CancellationToken cancellationToken = default)
        => (await Run(cancellationToken, "XTRIM", key, "MAXLEN", approximate ? "~" : "=", maxLength)).AsInt64();

    // ---- scripts ----

    /// <summary>Runs a Lua script by its SHA1 (EVALSHA) and falls back to EVAL when the server does not know it (NOSCRIPT).</summary>
    public async Task<RedisResult> EvalAsync(string script, IReadOnlyCollection<string>? keys = null, IReadOnlyCollection<object>? args = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        var sha = _scriptHashes.GetOrAdd(script, Sha1Hex);
        try
        {
            return await EvalShaAsync(sha, keys, args, cancellationToken);
        }
        catch (RedisServerException exception) when (exception.Is("NOSCRIPT"))
        {
            return await ExecuteAsync(ScriptArgs("EVAL", script, keys, args), null, cancellationToken);
        }
    }

    public Task<RedisResult> EvalShaAsync(string sha1, IReadOnlyCollection<string>? keys = null, IReadOnlyCollection<object>? args = null, CancellationToken cancellationToken = default)
        => ExecuteAsync(ScriptArgs("EVALSHA", sha1, keys, args), null, cancellationToken);

    private static object[] ScriptArgs(string command, string scriptOrSha, IReadOnlyCollection<string>? keys, IReadOnlyCollection<object>? args)
    {
        var list = new List<object>(3 + (keys?.Count ?? 0) + (args?.Count ?? 0)) { command, scriptOrSha, keys?.Count ?? 0 };
        if (keys is not null)
        {
            list.AddRange(keys);
        }

        if (args is not null)
        {
            list.AddRange(args);
        }

        return [.. list];
    }

#pragma warning disable CA5350 // Redis names scripts by their SHA1; this is an identifier, not a security measure.
    private static string Sha1Hex(string script) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(script)));
#pragma warning restore CA5350

    private Task<RedisResult> Run(CancellationToken cancellationToken, params object[] args) => ExecuteAsync(args, null, cancellationToken);

    private static List<string> Strings(RedisResult reply)
    {
        var list = new List<string>(reply.Count);
        foreach (var item in reply.AsSpan())
        {
            list.Add(item.AsString() ?? string.Empty);
        }

        return list;
    }

    private static List<RedisStreamEntry> Entries(RedisResult reply)
    {
        var entries = new List<RedisStreamEntry>(reply.Count);
        string? lastName = null; // entries of one stream mostly repeat the same field names: decode each once
        foreach (var entry in reply.AsSpan())
        {
            if (entry.IsNull || entry.Count < 2 || entry[1].IsNull)
            {
                continue; // deleted while pending (XCLAIM before Redis 7)
            }

            var raw = entry[1];
            var fields = new KeyValuePair<string, RedisResult>[raw.Count / 2];
            for (var i = 0; i < fields.Length; i++)
            {
                var name = raw[2 * i];
                if (lastName is null || !Utf8Equals(name.Span, lastName))
                {
                    lastName = name.AsString()!;
                }

                fields[i] = new KeyValuePair<string, RedisResult>(lastName, raw[(2 * i) + 1]);
            }

            entries.Add(new RedisStreamEntry(entry[0].AsString()!, fields));
        }

        return entries;
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string text)
    {
        if (utf8.Length != text.Length)
        {
            return false;
        }

        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] >= 0x80 || utf8[i] != text[i])
            {
                return false; // only ASCII names are compared byte for byte
            }
        }

        return true;
    }

    internal static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}

using System.Security.Cryptography;
using System.Text;

namespace Messengers.Agents;

/// <summary>
/// Stable agent session ids: one per (agent, chat), the same on every silo and after restarts.
/// </summary>
public static class AgentSessionId
{
    /// <summary>
    /// The namespace UUID of Messengers agent sessions (a random UUID fixed once; never change it, or every
    /// stored dialog gets a new agent session).
    /// </summary>
    public static readonly Guid Namespace = new("90094364-3bea-46ee-a275-0488394736ef");

    /// <summary>
    /// A UUIDv5 (RFC 9562 §5.5: SHA-1 over the namespace bytes and the UTF-8 name) of <c>"{agentId}:{chatId}"</c>
    /// under <see cref="Namespace"/>, lower-case with hyphens. Same as Python's
    /// <c>uuid.uuid5(uuid.UUID("90094364-3bea-46ee-a275-0488394736ef"), f"{agent_id}:{chat_id}")</c>.
    /// </summary>
    public static string For(string agentId, string chatId)
    {
        ArgumentNullException.ThrowIfNull(agentId);
        ArgumentNullException.ThrowIfNull(chatId);
        return Uuid5(Namespace, $"{agentId}:{chatId}").ToString("D");
    }

    internal static Guid Uuid5(Guid ns, string name)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        ns.TryWriteBytes(input.AsSpan(0, 16), bigEndian: true, out _);
        nameBytes.CopyTo(input, 16);
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 prescribes for UUIDv5; it is an identifier, not a security measure.
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}

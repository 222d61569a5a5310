using System.Globalization;
using Messengers.Abstractions.Providers;

namespace Messengers.Host.Api;

/// <summary>
/// The size and shape limits of what is sent and created, one set for the REST API and the MCP tools, so a tool cannot
/// store what the API would refuse. Each check answers null when the value is fine, else a sentence saying what to fix.
/// </summary>
public static class MessageRules
{
    public const int MaxTextLength = 4096 * 4;
    public const int MaxClientMessageIdLength = 100;
    public const int MaxGroupNameLength = 100;
    public const int MaxParticipants = 256;
    public const int MaxParticipantLength = 64;

    public static string? TextProblem(string? text)
        => text is { Length: > MaxTextLength }
            ? string.Create(CultureInfo.InvariantCulture, $"The text is longer than {MaxTextLength} characters.")
            : null;

    public static string? GroupNameProblem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "A group name is required.";
        }

        return name.Length > MaxGroupNameLength
            ? string.Create(CultureInfo.InvariantCulture, $"The group name is longer than {MaxGroupNameLength} characters.")
            : null;
    }

    /// <summary>At least one and at most <see cref="MaxParticipants"/> participants, each a phone number or a chat id of the provider.</summary>
    public static string? ParticipantsProblem(IReadOnlyCollection<string>? participants, IMessengerProvider provider)
    {
        if (participants is null || participants.Count == 0)
        {
            return "At least one participant (phone number or contact id) is required.";
        }

        if (participants.Count > MaxParticipants)
        {
            return string.Create(CultureInfo.InvariantCulture, $"At most {MaxParticipants} participants per request.");
        }

        var invalid = participants.Where(p => !IsParticipant(p, provider)).Take(5).ToList();
        return invalid.Count > 0
            ? $"Not a phone number (digits in international format) or contact id: {string.Join(", ", invalid.Select(p => $"'{p}'"))}."
            : null;
    }

    /// <summary>A chat id of the provider, or a phone number in international format ("+55 11 98888-7777" allowed).</summary>
    public static bool IsParticipant(string? value, IMessengerProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxParticipantLength)
        {
            return false;
        }

        if (provider.IsValidChatId(value))
        {
            return true;
        }

        if (value.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        var digits = value.Count(char.IsAsciiDigit);
        return digits is >= 6 and <= 20 && value.TrimStart('+').All(c => char.IsAsciiDigit(c) || c is ' ' or '-' or '(' or ')');
    }
}

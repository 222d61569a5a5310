namespace Messengers.Agents.Turns;

/// <summary>Splits a long reply into messages a provider accepts, at paragraph, line, sentence or word boundaries.</summary>
public static class ReplySplitter
{
    public static IReadOnlyList<string> Split(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 16);
        var parts = new List<string>();
        var rest = text.Trim();
        while (rest.Length > maxLength)
        {
            var window = rest[..maxLength];
            var cut = LastBoundary(window, "\n\n") ?? LastBoundary(window, "\n") ?? LastBoundary(window, ". ") ?? LastBoundary(window, " ") ?? maxLength;
            parts.Add(rest[..cut].TrimEnd());
            rest = rest[cut..].TrimStart();
        }

        if (rest.Length > 0)
        {
            parts.Add(rest);
        }

        return parts;
    }

    /// <summary>The position just after the last <paramref name="separator"/> in the second half of the window.</summary>
    private static int? LastBoundary(string window, string separator)
    {
        var at = window.LastIndexOf(separator, StringComparison.Ordinal);
        return at >= window.Length / 2 ? at + separator.Length : null;
    }
}

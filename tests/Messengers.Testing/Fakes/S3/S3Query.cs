namespace Messengers.Testing.Fakes.S3;

/// <summary>The decoded name/value pairs of a raw query string, in order ("?delete" gives ("delete", "")).</summary>
internal static class S3Query
{
    public static List<KeyValuePair<string, string>> Parse(string rawQuery)
        => rawQuery.TrimStart('?')
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => KeyValuePair.Create(Uri.UnescapeDataString(p[0]), p.Length > 1 ? Uri.UnescapeDataString(p[1]) : ""))
            .ToList();
}

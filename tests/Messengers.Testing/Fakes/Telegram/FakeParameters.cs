using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Messengers.Testing.Fakes.Telegram;

internal sealed record FakeUpload(byte[] Content, string FileName, string? ContentType);

/// <summary>
/// Bot API call parameters gathered from the query string and a JSON, form-urlencoded or multipart body, all as
/// strings: JSON objects and arrays keep their JSON text, as they arrive in form encodings (protocols.md §1.1).
/// </summary>
internal sealed class FakeParameters
{
    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, FakeUpload> Files { get; } = new(StringComparer.Ordinal);

    public static async Task<FakeParameters> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var parameters = new FakeParameters();
        foreach (var (key, value) in request.Query)
        {
            parameters.Values[key] = value.ToString();
        }

        if (request.HasJsonContentType())
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync(cancellationToken);
            if (body.Length > 0)
            {
                parameters.AddJson(body);
            }
        }
        else if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken);
            foreach (var (key, value) in form)
            {
                parameters.Values[key] = value.ToString();
            }

            foreach (var file in form.Files)
            {
                using var buffer = new MemoryStream();
                await file.CopyToAsync(buffer, cancellationToken);
                parameters.Files[file.Name] = new FakeUpload(buffer.ToArray(), file.FileName, file.ContentType);
            }
        }

        return parameters;
    }

    public static FakeParameters FromJson(string json)
    {
        var parameters = new FakeParameters();
        parameters.AddJson(json);
        return parameters;
    }

    public string? Get(string name) => Values.GetValueOrDefault(name);

    public long? GetLong(string name)
    {
        var raw = Get(name);
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        return long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new JsonException($"{name} is not an integer");
    }

    public bool? GetBool(string name) => Get(name)?.ToLowerInvariant() switch
    {
        null or "" => null,
        "true" or "1" => true,
        _ => false,
    };

    public JsonObject? GetObject(string name) =>
        Get(name) is { Length: > 0 } raw ? JsonNode.Parse(raw) as JsonObject : null;

    public string[]? GetStringArray(string name) =>
        Get(name) is { Length: > 0 } raw && JsonNode.Parse(raw) is JsonArray array
            ? [.. array.Select(n => n?.GetValue<string>() ?? "")]
            : null;

    private void AddJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The body is not a JSON object");
        }

        foreach (var property in document.RootElement.EnumerateObject())
        {
            Values[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString()!,
                JsonValueKind.Null => "",
                _ => property.Value.GetRawText(),
            };
        }
    }
}

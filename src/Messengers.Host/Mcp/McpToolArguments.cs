using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// A call-tool filter that checks the arguments against the tool's input schema before the SDK binds them: a missing
/// required argument or one of the wrong JSON type would otherwise fail inside the SDK's binder as "An error occurred
/// invoking '…'", which tells a model nothing. Here it becomes "`limit` is required: …" with the parameter's description.
/// </summary>
public static class McpToolArguments
{
    public static async ValueTask<CallToolResult> ValidateAsync(McpRequestHandler<CallToolRequestParams, CallToolResult> next, RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(context);
        if (context.MatchedPrimitive is McpServerTool tool && Problems(tool.ProtocolTool.InputSchema, context.Params?.Arguments) is { Count: > 0 } problems)
        {
            return McpToolKit.Error($"Error calling {tool.ProtocolTool.Name}: Error: {string.Join("; ", problems)}");
        }

        return await next(context, cancellationToken);
    }

    /// <summary>What is wrong with <paramref name="arguments"/> for <paramref name="schema"/>: missing required ones, wrong types.</summary>
    public static List<string> Problems(JsonElement schema, IDictionary<string, JsonElement>? arguments)
    {
        var problems = new List<string>();
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return problems;
        }

        arguments ??= new Dictionary<string, JsonElement>();
        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()).OfType<string>())
            {
                if (!arguments.TryGetValue(name, out var value) || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
                {
                    problems.Add($"`{name}` is required{Described(properties, name)}");
                }
            }
        }

        foreach (var (name, value) in arguments)
        {
            // Unknown names are left to the SDK, which ignores them: refusing them would fail calls that work today.
            if (!properties.TryGetProperty(name, out var property))
            {
                continue;
            }

            if (value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) && TypesOf(property) is { Count: > 0 } types && !types.Any(t => Fits(t, value)))
            {
                problems.Add($"`{name}` must be {string.Join(" or ", types.Select(Article))}, not {Article(KindOf(value))}{Described(properties, name)}");
            }
        }

        return problems;
    }

    private static string Described(JsonElement properties, string name)
        => properties.TryGetProperty(name, out var property) && property.TryGetProperty("description", out var description) && description.GetString() is { Length: > 0 } text
            ? $" ({text})"
            : "";

    private static List<string> TypesOf(JsonElement property)
    {
        if (!property.TryGetProperty("type", out var type))
        {
            return [];
        }

        return type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array => [.. type.EnumerateArray().Select(t => t.GetString()).OfType<string>().Where(t => t != "null")],
            _ => [],
        };
    }

    private static bool Fits(string type, JsonElement value) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => true,
    };

    private static string KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => "null",
    };

    private static string Article(string type) => type switch
    {
        "integer" or "array" or "object" => "an " + type,
        _ => "a " + type,
    };
}

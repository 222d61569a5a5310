using System.Globalization;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Host.Hosting;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Messengers.Host.Mcp;

/// <summary>
/// Which tools a key sees and how often it may call them. The admin key sees every tool. An instance key sees only the
/// tools that can work on its instance: no admin-only tools, none its provider lacks the capability for — a model picks
/// better from a list without dead ends. Hidden tools still answer with an actionable error if called by name.
/// Tool calls are limited per key (<see cref="McpOptions.ToolCallsPerMinute"/>); a call over the limit is an isError
/// result that says when to retry, so an agent can wait instead of failing its run. The limit holds across the cluster
/// (<see cref="ClusterRateLimiter"/>).
/// </summary>
public sealed class McpToolAccess
{
    private static readonly Dictionary<string, Func<IMessengerProvider, bool>> InstanceKeyRules = new(StringComparer.Ordinal)
    {
        ["list_instances"] = _ => false,
        ["create_instance"] = _ => false,
        ["get_qr_code"] = HasQrPairing,
        ["request_pairing_code"] = HasQrPairing,
        ["send_telegram_message"] = p => string.Equals(p.Name, "telegram", StringComparison.OrdinalIgnoreCase),
        ["get_messages"] = p => p.Capabilities.HasFlag(ProviderCapabilities.History),
        ["send_media_message"] = p => p.Capabilities.HasFlag(ProviderCapabilities.Media),
        ["download_media_from_message"] = p => p.Capabilities.HasFlag(ProviderCapabilities.Media),
        ["create_group"] = HasGroups,
        ["add_participants_to_group"] = HasGroups,
        ["get_group_messages"] = HasGroups,
        ["send_group_message"] = HasGroups,
        ["search_groups"] = HasGroups,
        ["get_group_by_id"] = HasGroups,
    };

    private readonly ClusterRateLimiter _limiter;
    private readonly int _callsPerMinute;

    public McpToolAccess(McpOptions options, ClusterRateLimiter limiter)
    {
        ArgumentNullException.ThrowIfNull(options);
        _callsPerMinute = options.ToolCallsPerMinute;
        _limiter = limiter;
    }

    /// <summary>Whether an instance key of a <paramref name="provider"/> instance sees <paramref name="toolName"/>.</summary>
    public static bool VisibleToInstanceKey(string toolName, IMessengerProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return !InstanceKeyRules.TryGetValue(toolName, out var rule) || rule(provider);
    }

    /// <summary>The SDK's list-tools filter: an instance key gets only the tools that work on its instance.</summary>
    public static async ValueTask<ListToolsResult> ListToolsAsync(McpRequestHandler<ListToolsRequestParams, ListToolsResult> next, RequestContext<ListToolsRequestParams> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        var result = await next(context, cancellationToken);
        var provider = await InstanceProviderAsync(context);
        if (provider is not null)
        {
            result.Tools = [.. result.Tools.Where(tool => VisibleToInstanceKey(tool.Name, provider))];
        }

        return result;
    }

    /// <summary>The SDK's call-tool filter: the per-key call limit, counted across the cluster.</summary>
    public async ValueTask<CallToolResult> CallToolAsync(McpRequestHandler<CallToolRequestParams, CallToolResult> next, RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(context);
        var key = McpCaller.Of(context)?.KeyId ?? "anonymous";
        var decision = await _limiter.TryAcquireAsync("mcp/" + key, _callsPerMinute);
        if (decision.Acquired)
        {
            return await next(context, cancellationToken);
        }

        return McpToolKit.Error(string.Create(CultureInfo.InvariantCulture,
            $"Error calling {context.Params?.Name}: Error: rate limit reached: this key may call {_callsPerMinute} tools per minute; try again in {ClusterRateLimiter.RetryAfterSeconds(decision)} seconds"));
    }

    private static bool HasQrPairing(IMessengerProvider provider) => provider.Capabilities.HasFlag(ProviderCapabilities.QrPairing);

    private static bool HasGroups(IMessengerProvider provider) => provider.Capabilities.HasFlag(ProviderCapabilities.Groups);

    /// <summary>The provider of the caller's instance when the caller holds an instance key; null for the admin key.</summary>
    private static async Task<IMessengerProvider?> InstanceProviderAsync(MessageContext context)
    {
        var caller = McpCaller.Of(context);
        if (caller is null || caller.IsAdmin || caller.InstanceId is null || context.Services is null)
        {
            return null;
        }

        var info = await context.Services.GetRequiredService<IGrainFactory>().GetGrain<IInstanceGrain>(caller.InstanceId).GetAsync();
        return info is null ? null : context.Services.GetRequiredService<MessengerProviders>().Get(info.Provider);
    }
}

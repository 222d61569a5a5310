using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Providers;
using Messengers.Providers.Telegram;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Messengers.Host.Api;

/// <summary>
/// Telegram webhook deliveries (protocols.md §1.6): <c>POST /hooks/telegram/{instanceId}</c> with one Update as JSON.
/// No API key: the <c>X-Telegram-Bot-Api-Secret-Token</c> header, given to setWebhook by the instance's connection,
/// authenticates the delivery. The update is stored the way polled ones are (the ChatSessionGrain dedupes on the
/// message id) before the 200 goes out, so Telegram's redeliveries neither lose nor double a message.
/// </summary>
public static class TelegramHooksApi
{
    public static IEndpointRouteBuilder MapTelegramHooksApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/hooks/telegram/{instanceId:regex(^[a-z0-9][a-z0-9-]{{2,39}}$)}", ReceiveAsync)
            .WithTags("Telegram webhook")
            .WithSummary("An update delivered by Telegram (authenticated by X-Telegram-Bot-Api-Secret-Token)");
        return app;
    }

    public static async Task<Results<Ok, ProblemHttpResult>> ReceiveAsync(string instanceId, HttpRequest request, IGrainFactory grains, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grains);
        var info = await grains.GetGrain<IInstanceGrain>(instanceId).GetAsync();
        if (info is null || !string.Equals(info.Provider, TelegramProvider.ProviderName, StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(title: "Not found", detail: $"There is no Telegram instance '{instanceId}'.", statusCode: StatusCodes.Status404NotFound);
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.Headers.TryGetValue(TelegramWebhook.SecretTokenHeader, out var secret))
        {
            headers[TelegramWebhook.SecretTokenHeader.ToLowerInvariant()] = secret.ToString();
        }

        InboundResult result;
        try
        {
            result = await grains.GetGrain<IProviderClientGrain>(instanceId).ReceiveAsync(new WebhookDelivery(headers, body.ToArray()));
        }
        catch (InstanceNotReadyException)
        {
            // Not connected on this cluster right now (a restart): Telegram delivers again later.
            return TypedResults.Problem(title: "Instance not running", detail: $"Instance '{instanceId}' is not connected right now; the update will be delivered again.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return result.Outcome switch
        {
            InboundOutcome.Accepted => TypedResults.Ok(),
            InboundOutcome.Unauthenticated => TypedResults.Problem(title: "Unauthorized", detail: result.Detail, statusCode: StatusCodes.Status401Unauthorized),
            InboundOutcome.Forbidden => TypedResults.Problem(title: "Forbidden", detail: result.Detail, statusCode: StatusCodes.Status403Forbidden),
            InboundOutcome.Invalid => TypedResults.Problem(title: "Bad request", detail: result.Detail, statusCode: StatusCodes.Status400BadRequest),
            _ => TypedResults.Problem(title: "Telegram unavailable", detail: result.Detail, statusCode: StatusCodes.Status503ServiceUnavailable),
        };
    }
}

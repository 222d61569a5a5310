using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Grains.Instances;
using Messengers.Providers.Telegram;
using Messengers.Providers.Telegram.BotApi;
using Messengers.Runtime;
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

    public static async Task<Results<Ok, ProblemHttpResult>> ReceiveAsync(string instanceId, HttpRequest request, IGrainFactory grains, MessengerProviders providers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(providers);
        var instance = grains.GetGrain<IInstanceGrain>(instanceId);
        var info = await instance.GetAsync();
        if (info is null || !string.Equals(info.Provider, TelegramProvider.ProviderName, StringComparison.OrdinalIgnoreCase)
            || !providers.TryGet(TelegramProvider.ProviderName, out var registered) || registered is not TelegramProvider telegram)
        {
            return TypedResults.Problem(title: "Not found", detail: $"There is no Telegram instance '{instanceId}'.", statusCode: StatusCodes.Status404NotFound);
        }

        var presented = request.Headers[TelegramWebhook.SecretTokenHeader].ToString();
        if (presented.Length == 0)
        {
            return TypedResults.Problem(title: "Unauthorized", detail: $"The {TelegramWebhook.SecretTokenHeader} header is missing.", statusCode: StatusCodes.Status401Unauthorized);
        }

        if (!await grains.GetGrain<ITelegramWebhookGrain>(instanceId).VerifySecretAsync(presented))
        {
            return TypedResults.Problem(title: "Forbidden", detail: $"The {TelegramWebhook.SecretTokenHeader} header does not match this instance's webhook secret.", statusCode: StatusCodes.Status403Forbidden);
        }

        Update? update;
        try
        {
            update = await TelegramJson.DeserializeUpdateAsync(request.Body, cancellationToken);
        }
        catch (JsonException exception)
        {
            return TypedResults.Problem(title: "Bad request", detail: $"The body is not a Telegram Update: {exception.Message}", statusCode: StatusCodes.Status400BadRequest);
        }

        if (update is null || update.UpdateId <= 0)
        {
            return TypedResults.Problem(title: "Bad request", detail: "The body is not a Telegram Update: update_id is missing.", statusCode: StatusCodes.Status400BadRequest);
        }

        Abstractions.Providers.InboundMessage? message;
        try
        {
            message = await telegram.ReadWebhookUpdateAsync(await instance.GetConnectionConfigAsync(), update, cancellationToken);
        }
        catch (TelegramException exception)
        {
            // The media download failed; a non-2xx answer makes Telegram deliver the update again later.
            return TypedResults.Problem(title: "Telegram unavailable", detail: $"Downloading the update's file failed: {exception.Message}", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (message is not null)
        {
            await grains.GetGrain<IChatSessionGrain>(ChatKey.For(instanceId, message.ChatId)).ReceiveAsync(message);
        }

        return TypedResults.Ok();
    }
}

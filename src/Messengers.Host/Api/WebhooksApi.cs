using System.Text.Json;
using System.Text.RegularExpressions;
using Messengers.Abstractions.Instances;
using Messengers.Data.Webhooks;
using Messengers.Webhooks;
using Messengers.Host.Hosting;

namespace Messengers.Host.Api;

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Secret, IReadOnlyDictionary<string, string>? Headers, bool? Enabled, string? Format);

public sealed record PatchWebhookRequest(string? Url, IReadOnlyList<string>? Events, bool? Enabled, IReadOnlyDictionary<string, string>? Headers, string? Format);

/// <summary>A subscription as the API shows it: header names only, never the secret or header values.</summary>
public sealed record WebhookView(string Id, string InstanceId, string Url, IReadOnlyList<string> Events, IReadOnlyList<string> HeaderNames, bool Enabled, string Format, DateTimeOffset CreatedAt)
{
    public static WebhookView Of(WebhookSubscription s) => new(s.Id, s.InstanceId, s.Url, s.Events, [.. s.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase)], s.Enabled, s.Format, s.CreatedAt);
}

/// <summary>The answer to a create: the subscription and its secret, shown this once.</summary>
public sealed record CreatedWebhookView(string Id, string InstanceId, string Url, IReadOnlyList<string> Events, IReadOnlyList<string> HeaderNames, bool Enabled, string Format, DateTimeOffset CreatedAt, string Secret);

public sealed record WebhookDeliveryView(
    long Id, string EventId, string Event, string Status, int Attempts, DateTimeOffset NextAttemptAt, int? LastStatusCode, string? LastError,
    DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt, JsonElement Payload)
{
    public static WebhookDeliveryView Of(WebhookDelivery d)
    {
        using var payload = JsonDocument.Parse(d.Payload);
        return new(d.Id, d.EventId, d.EventType, d.Status, d.Attempts, d.NextAttemptAt, d.LastStatusCode, d.LastError, d.CreatedAt, d.DeliveredAt, payload.RootElement.Clone());
    }
}

/// <summary>Webhook subscriptions of an instance, their delivery log and manual redelivery, under <c>/api/v1/instances/{id}/webhooks</c>.</summary>
public static partial class WebhooksApi
{
    private const int MaxUrlLength = 2048;
    private const int MaxHeaders = 20;
    private const int MaxHeaderValueLength = 4096;

    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Connection", "Expect", "Upgrade", "TE", "Trailer", "Keep-Alive",
    };

    /// <summary>Registers the webhook store, event writer and dispatcher; options from <c>Messengers:Webhooks</c>.</summary>
    public static IServiceCollection AddMessengersWebhooks(this IServiceCollection services, IConfiguration configuration)
        => services.AddWebhooks(options => configuration.GetSection("Messengers:Webhooks").Bind(options));

    public static RouteGroupBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/instances/{id}/webhooks").WithTags("Webhooks").RequireInstanceAccess();
        api.MapPost("/", CreateAsync);
        api.MapGet("/", ListAsync);
        api.MapGet("/{webhookId}", GetAsync);
        api.MapPatch("/{webhookId}", PatchAsync);
        api.MapDelete("/{webhookId}", DeleteAsync);
        api.MapGet("/{webhookId}/deliveries", ListDeliveriesAsync);
        api.MapPost("/{webhookId}/deliveries/{deliveryId:long}/redeliver", RedeliverAsync);
        return api;
    }

    public static async Task<IResult> CreateAsync(string id, CreateWebhookRequest request, IGrainFactory grains, IWebhookStore store, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await MissingInstanceAsync(id, grains) is { } missing)
        {
            return missing;
        }

        var errors = new Dictionary<string, string[]>();
        ValidateUrl(request.Url, required: true, errors);
        var events = ValidateEvents(request.Events, errors) ?? [WebhookEventTypes.All];
        ValidateHeaders(request.Headers, errors);
        ValidateFormat(request.Format, errors);
        if (request.Secret is { } given && (given.Length < 16 || given.Length > 256))
        {
            errors["secret"] = ["The secret must have 16 to 256 characters (leave it out to have one generated)."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The webhook is not valid.");
        }

        var subscription = new WebhookSubscription
        {
            Id = "wh_" + Guid.NewGuid().ToString("N")[..20],
            InstanceId = id,
            Url = request.Url!,
            Events = events,
            Secret = request.Secret ?? WebhookSignature.NewSecret(),
            Headers = request.Headers ?? new Dictionary<string, string>(),
            Enabled = request.Enabled ?? true,
            Format = request.Format ?? WebhookFormats.Envelope,
            CreatedAt = time.GetUtcNow(),
        };
        await store.CreateAsync(subscription);
        await grains.GetGrain<IWebhookSubscriptionsGrain>(id).ChangedAsync();
        var view = WebhookView.Of(subscription);
        return TypedResults.Created(
            $"/api/v1/instances/{id}/webhooks/{subscription.Id}",
            new CreatedWebhookView(view.Id, view.InstanceId, view.Url, view.Events, view.HeaderNames, view.Enabled, view.Format, view.CreatedAt, subscription.Secret));
    }

    public static async Task<IResult> ListAsync(string id, IGrainFactory grains, IWebhookStore store)
    {
        if (await MissingInstanceAsync(id, grains) is { } missing)
        {
            return missing;
        }

        var subscriptions = await store.ListAsync(id);
        return TypedResults.Ok(new Page<WebhookView>([.. subscriptions.Select(WebhookView.Of)], null));
    }

    public static async Task<IResult> GetAsync(string id, string webhookId, IWebhookStore store)
    {
        var subscription = await store.GetAsync(id, webhookId);
        return subscription is null ? WebhookNotFound(id, webhookId) : TypedResults.Ok(WebhookView.Of(subscription));
    }

    public static async Task<IResult> PatchAsync(string id, string webhookId, PatchWebhookRequest request, IWebhookStore store, IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, string[]>();
        ValidateUrl(request.Url, required: false, errors);
        var events = ValidateEvents(request.Events, errors);
        ValidateHeaders(request.Headers, errors);
        ValidateFormat(request.Format, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The change is not valid.");
        }

        var updated = await store.UpdateAsync(id, webhookId, new WebhookSubscriptionPatch
        {
            Url = request.Url,
            Events = events,
            Enabled = request.Enabled,
            Headers = request.Headers,
            Format = request.Format,
        });
        if (updated is null)
        {
            return WebhookNotFound(id, webhookId);
        }

        await grains.GetGrain<IWebhookSubscriptionsGrain>(id).ChangedAsync();
        return TypedResults.Ok(WebhookView.Of(updated));
    }

    public static async Task<IResult> DeleteAsync(string id, string webhookId, IWebhookStore store, IGrainFactory grains)
    {
        if (!await store.DeleteAsync(id, webhookId))
        {
            return WebhookNotFound(id, webhookId);
        }

        await grains.GetGrain<IWebhookSubscriptionsGrain>(id).ChangedAsync();
        return TypedResults.NoContent();
    }

    /// <summary>The delivery log, newest first; <c>status</c> = pending, failed, delivered or dead.</summary>
    public static async Task<IResult> ListDeliveriesAsync(string id, string webhookId, string? status, int? limit, IWebhookStore store)
    {
        if (status is not null && !WebhookDeliveryStatus.IsKnown(status))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = ["Use pending, failed, delivered or dead."] });
        }

        if (await store.GetAsync(id, webhookId) is null)
        {
            return WebhookNotFound(id, webhookId);
        }

        var deliveries = await store.ListDeliveriesAsync(id, webhookId, status, Math.Clamp(limit ?? 50, 1, 500));
        return TypedResults.Ok(new Page<WebhookDeliveryView>([.. deliveries.Select(WebhookDeliveryView.Of)], null));
    }

    /// <summary>Puts the event back in the queue, due now, with a fresh retry schedule.</summary>
    public static async Task<IResult> RedeliverAsync(string id, string webhookId, long deliveryId, IWebhookStore store, WebhookDispatcher dispatcher, TimeProvider time)
    {
        var delivery = await store.RedeliverAsync(id, webhookId, deliveryId, time.GetUtcNow());
        if (delivery is null)
        {
            return TypedResults.Problem(type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not found", detail: $"Webhook '{webhookId}' of instance '{id}' has no delivery {deliveryId}.", statusCode: StatusCodes.Status404NotFound);
        }

        dispatcher.Wake();
        return TypedResults.Accepted($"/api/v1/instances/{id}/webhooks/{webhookId}/deliveries", WebhookDeliveryView.Of(delivery));
    }

    private static void ValidateUrl(string? url, bool required, Dictionary<string, string[]> errors)
    {
        if (url is null)
        {
            if (required)
            {
                errors["url"] = ["A url is required."];
            }

            return;
        }

        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors["url"] = [$"The url must be an absolute http or https URL of at most {MaxUrlLength} characters."];
        }
        else if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            errors["url"] = ["The url must not carry credentials; send them in headers instead."];
        }
    }

    private static List<string>? ValidateEvents(IReadOnlyList<string>? events, Dictionary<string, string[]> errors)
    {
        if (events is null)
        {
            return null;
        }

        if (events.Count == 0)
        {
            errors["events"] = ["Name at least one event, or \"*\" for all."];
            return null;
        }

        var unknown = events.Where(e => e is null || !WebhookEventTypes.Known.Contains(e)).ToList();
        if (unknown.Count > 0)
        {
            errors["events"] = [$"Unknown events: {string.Join(", ", unknown)}. Known: {string.Join(", ", WebhookEventTypes.Known.Order(StringComparer.Ordinal))}."];
            return null;
        }

        return [.. events.Distinct(StringComparer.Ordinal)];
    }

    private static void ValidateHeaders(IReadOnlyDictionary<string, string>? headers, Dictionary<string, string[]> errors)
    {
        if (headers is null)
        {
            return;
        }

        var problems = new List<string>();
        if (headers.Count > MaxHeaders)
        {
            problems.Add($"At most {MaxHeaders} headers.");
        }

        foreach (var (name, value) in headers)
        {
            if (!HeaderName().IsMatch(name))
            {
                problems.Add($"'{name}' is not a valid header name.");
            }
            else if (ReservedHeaders.Contains(name) || name.StartsWith("X-Messengers-", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"'{name}' is set by the dispatcher and cannot be overridden.");
            }

            if (value is null || value.Length > MaxHeaderValueLength || value.Contains('\r', StringComparison.Ordinal) || value.Contains('\n', StringComparison.Ordinal))
            {
                problems.Add($"The value of '{name}' must be one line of at most {MaxHeaderValueLength} characters.");
            }
        }

        if (problems.Count > 0)
        {
            errors["headers"] = [.. problems];
        }
    }

    private static void ValidateFormat(string? format, Dictionary<string, string[]> errors)
    {
        if (format is not null && !WebhookFormats.IsKnown(format))
        {
            errors["format"] = ["The format must be 'envelope' or 'flat'."];
        }
    }

    private static async Task<IResult?> MissingInstanceAsync(string id, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        return info is null ? InstanceProblems.NotFound(id) : null;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult WebhookNotFound(string id, string webhookId)
        => TypedResults.Problem(type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not found", detail: $"Instance '{id}' has no webhook '{webhookId}'.", statusCode: StatusCodes.Status404NotFound);

    [GeneratedRegex("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
    private static partial Regex HeaderName();
}

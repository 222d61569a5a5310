using System.Text.Json;
using Messengers.Abstractions.Security;

namespace Messengers.Data.Webhooks;

/// <summary>How both webhook stores turn subscription fields into column values and back.</summary>
internal static class WebhookRows
{
    public const int MaxLimit = 500;

    public const string OpenStatuses = "('pending', 'failed')";

    public static string EventsJson(IReadOnlyList<string> events) => JsonSerializer.Serialize(events);

    public static IReadOnlyList<string> ParseEvents(string json) => JsonSerializer.Deserialize<List<string>>(json) ?? [];

    public static string? ProtectHeaders(ISecretProtector protector, IReadOnlyDictionary<string, string> headers)
        => headers.Count == 0 ? null : protector.Protect(JsonSerializer.Serialize(headers));

    public static IReadOnlyDictionary<string, string> UnprotectHeaders(ISecretProtector protector, string? value)
        => string.IsNullOrEmpty(value)
            ? new Dictionary<string, string>()
            : JsonSerializer.Deserialize<Dictionary<string, string>>(protector.Unprotect(value)) ?? [];

    public static void Validate(WebhookSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentException.ThrowIfNullOrEmpty(subscription.Id, nameof(subscription));
        ArgumentException.ThrowIfNullOrEmpty(subscription.InstanceId, nameof(subscription));
        ArgumentException.ThrowIfNullOrEmpty(subscription.Url, nameof(subscription));
        ArgumentException.ThrowIfNullOrEmpty(subscription.Secret, nameof(subscription));
        if (!WebhookFormats.IsKnown(subscription.Format))
        {
            throw new ArgumentException($"Unknown webhook format '{subscription.Format}'.", nameof(subscription));
        }
    }

    public static WebhookSubscription Apply(WebhookSubscription current, WebhookSubscriptionPatch patch) => current with
    {
        Url = patch.Url ?? current.Url,
        Events = patch.Events ?? current.Events,
        Enabled = patch.Enabled ?? current.Enabled,
        Headers = patch.Headers ?? current.Headers,
        Format = patch.Format ?? current.Format,
    };
}

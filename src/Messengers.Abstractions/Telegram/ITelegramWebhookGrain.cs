using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Telegram;

/// <summary>
/// The webhook secret token of one Telegram instance (key: instance id). Telegram echoes it in
/// <c>X-Telegram-Bot-Api-Secret-Token</c> on every delivery; it is generated on first use, stored encrypted, and
/// leaves the grain only towards setWebhook.
/// </summary>
public interface ITelegramWebhookGrain : IGrainWithStringKey
{
    /// <summary>The secret to give setWebhook; created on first use.</summary>
    Task<string> GetOrCreateSecretAsync();

    /// <summary>Whether <paramref name="presented"/> is this instance's secret (constant-time comparison).</summary>
    [ReadOnly]
    Task<bool> VerifySecretAsync(string presented);

    /// <summary>Forgets the secret; the next webhook registration gets a new one.</summary>
    Task ForgetAsync();
}

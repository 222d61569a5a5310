using Messengers.Abstractions.Security;
using Messengers.Providers.Telegram.BotApi;
using Messengers.Runtime;
using Messengers.Runtime.Storage;

namespace Messengers.Providers.Telegram;

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

[GenerateSerializer]
public sealed class TelegramWebhookState
{
    [Id(0)] public string? ProtectedSecret { get; set; }
}

public sealed class TelegramWebhookGrain(
    [PersistentState("telegramWebhook")] IPersistentState<TelegramWebhookState> state,
    ISecretProtector secrets) : Grain, ITelegramWebhookGrain
{
    // 32 random bytes as base64url-like text: within setWebhook's 1–256 characters of A-Z a-z 0-9 _ -.
    private const int SecretBytes = 32;
    private string? _secret;

    public async Task<string> GetOrCreateSecretAsync()
    {
        if (Secret() is { } existing)
        {
            return existing;
        }

        var secret = ApiKeys.RandomToken(SecretBytes);
        state.State.ProtectedSecret = secrets.Protect(secret);
        await state.WriteStateAsync();
        _secret = secret;
        return secret;
    }

    public Task<bool> VerifySecretAsync(string presented)
        => Task.FromResult(Secret() is { } secret && TelegramWebhook.IsSecretValid(secret, presented));

    public async Task ForgetAsync()
    {
        _secret = null;
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }
    }

    private string? Secret() => _secret ??= state.State.ProtectedSecret is { } stored ? secrets.Unprotect(stored) : null;
}

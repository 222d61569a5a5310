using Messengers.Abstractions;
using Messengers.Abstractions.Security;
using Messengers.Abstractions.Telegram;
using Orleans.Runtime;

namespace Messengers.Providers.Telegram;

[GenerateSerializer, Alias("messengers.TelegramWebhookState")]
public sealed class TelegramWebhookState
{
    [Id(0)] public string? ProtectedSecret { get; set; }
}

/// <summary>The webhook secret token of one Telegram instance (see <see cref="ITelegramWebhookGrain"/>).</summary>
public sealed class TelegramWebhookGrain(
    [PersistentState(TelegramWebhookGrain.StateName, StorageNames.Grains)] IPersistentState<TelegramWebhookState> state,
    ISecretProtector secrets) : Grain, ITelegramWebhookGrain
{
    public const string StateName = "telegramWebhook";

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

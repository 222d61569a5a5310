using System.Globalization;
using System.Text.RegularExpressions;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using InboundMessage = Messengers.Abstractions.Providers.InboundMessage;
using Messengers.Abstractions.Telegram;
using Orleans;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telegram.Bot;

namespace Messengers.Providers.Telegram;

/// <summary>Configuration section <c>Messengers:Telegram</c>.</summary>
public sealed class TelegramOptions
{
    /// <summary>The Bot API base URL for all instances; an instance setting <c>apiBaseUrl</c> overrides it.</summary>
    public string ApiBaseUrl { get; set; } = DefaultApiBaseUrl;

    /// <summary>Telegram's public endpoint.</summary>
    public const string DefaultApiBaseUrl = "https://api.telegram.org";

    /// <summary>Seconds one getUpdates long poll may wait.</summary>
    public int PollTimeoutSeconds { get; set; } = 25;

    /// <summary>The longest pause between reconnection attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public TelegramSendQueueOptions SendQueue { get; set; } = new();

    /// <summary>
    /// This gateway's public base URL as Telegram reaches it. When set (here or as the instance setting
    /// <c>publicUrl</c>), updates arrive by webhook at <c>{PublicUrl}/hooks/telegram/{instanceId}</c> instead of long
    /// polling; an instance setting <c>publicUrl</c> of "" keeps that instance on polling.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>
    /// "2" sends Bot API calls over HTTP/2, so that the long polls of many bots share a few connections (see
    /// <see cref="TelegramHttpHandler"/>); "1.1" (the default) keeps one connection per pending poll.
    /// </summary>
    public string HttpVersion { get; set; } = "1.1";

    /// <summary>
    /// Whether <paramref name="url"/> may serve as the Bot API base URL: absolute http(s) without a path, since
    /// Telegram.Bot keeps only the scheme and authority and would silently drop a path.
    /// </summary>
    public static bool IsValidApiBaseUrl(string url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) && uri.AbsolutePath.Trim('/').Length == 0;

    /// <summary>Whether <paramref name="url"/> may serve as a public URL: absolute http(s).</summary>
    public static bool IsValidPublicUrl(string url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) && string.IsNullOrEmpty(uri.Query);
}

/// <summary>
/// Telegram bots (provider "telegram"): the bot token is the credential (<c>botToken</c>), checked with getMe at
/// start. Updates come by long polling (an update's offset is confirmed only after its message is stored) or, with a
/// public URL, by webhook (answered only after the message is stored). <paramref name="grains"/> keeps the webhook
/// secrets; without it only polling works.
/// </summary>
public sealed partial class TelegramProvider(IOptions<TelegramOptions> options, IMediaStore media, TimeProvider time, ILoggerFactory loggers, IGrainFactory? grains = null) : IMessengerProvider, IDisposable
{
    public const string ProviderName = "telegram";
    public const string TokenCredential = "botToken";
    public const string PublicUrlSetting = "publicUrl";
    public const string HookPathPrefix = "/hooks/telegram/";

    // One handler for every bot: idle long polls cost a pooled connection each (HTTP/1.1) or a stream each on a few
    // shared connections (HTTP/2, more than one connection once a server's stream limit is reached), never a handler each.
    // Call limits are per request (TelegramHttpHandler), so the client itself never times out a long poll.
    private readonly HttpClient _http = new(new TelegramHttpHandler(
        new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), EnableMultipleHttp2Connections = true },
        options.Value.HttpVersion == "2",
        TimeSpan.FromSeconds(options.Value.PollTimeoutSeconds))) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly TelegramFileIds _fileIds = new();

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities
        => ProviderCapabilities.Text | ProviderCapabilities.Media | ProviderCapabilities.Groups | ProviderCapabilities.Typing
            | ProviderCapabilities.History | ProviderCapabilities.Contacts | ProviderCapabilities.Reactions;

    public IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(settings);
        var errors = new Dictionary<string, string[]>();
        if (!credentials.TryGetValue(TokenCredential, out var token) || !TokenPattern().IsMatch(token) || !IsTokenAccepted(token))
        {
            errors["credentials.botToken"] = ["A bot token from @BotFather is required (digits, a colon, then at least 30 letters, digits, '-' or '_')."];
        }

        if (settings.TryGetValue("apiBaseUrl", out var url) && !TelegramOptions.IsValidApiBaseUrl(url))
        {
            errors["settings.apiBaseUrl"] = ["apiBaseUrl must be an absolute http(s) URL without a path, like http://localhost:8081."];
        }

        if (settings.TryGetValue(PublicUrlSetting, out var publicUrl) && publicUrl.Length > 0 && !TelegramOptions.IsValidPublicUrl(publicUrl))
        {
            errors["settings.publicUrl"] = ["publicUrl must be an absolute http(s) URL without a query (or \"\" for long polling)."];
        }

        return errors;
    }

    public bool IsValidChatId(string chatId) => chatId is not null && ChatIdPattern().IsMatch(chatId);

    public async Task ForgetInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        _fileIds.ForgetInstance(instanceId);
        if (grains is not null)
        {
            await grains.GetGrain<ITelegramWebhookGrain>(instanceId).ForgetAsync();
        }
    }

    public IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks)
    {
        ArgumentNullException.ThrowIfNull(config);
        var client = CreateClient(config);
        var webhook = WebhookUrl(config);
        Func<Task<string>>? secret = grains is null ? null : () => grains.GetGrain<ITelegramWebhookGrain>(config.InstanceId).GetOrCreateSecretAsync();
        Func<string, Task<bool>>? verify = grains is null ? null : presented => grains.GetGrain<ITelegramWebhookGrain>(config.InstanceId).VerifySecretAsync(presented);
        return new TelegramConnection(config.InstanceId, client, callbacks, new TelegramMedia(config.InstanceId, client, media, _fileIds), webhook, secret, verify, options.Value, time, loggers.CreateLogger<TelegramConnection>());
    }

    /// <summary>Where Telegram should deliver this instance's updates; null for long polling.</summary>
    public Uri? WebhookUrl(ConnectionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var publicUrl = config.Settings.TryGetValue(PublicUrlSetting, out var perInstance) ? perInstance : options.Value.PublicUrl;
        return string.IsNullOrWhiteSpace(publicUrl) || !TelegramOptions.IsValidPublicUrl(publicUrl)
            ? null
            : new Uri(publicUrl.TrimEnd('/') + HookPathPrefix + Uri.EscapeDataString(config.InstanceId));
    }

    private TelegramBotClient CreateClient(ConnectionConfig config)
    {
        var baseUrl = config.Settings.TryGetValue("apiBaseUrl", out var url) ? url : options.Value.ApiBaseUrl;
        // RetryThreshold 0: the library must not sleep and resend on 429 itself; TelegramSendQueue paces per chat and
        // per bot and honours retry_after, and a hidden resend could block a lane for minutes. The library keeps only
        // the base URL's scheme and authority, which is all a self-hosted Bot API server or the test fake needs.
        return new TelegramBotClient(new TelegramBotClientOptions(config.Credentials[TokenCredential], baseUrl) { RetryThreshold = 0 }, _http);
    }

    /// <summary>Whether Telegram.Bot takes the token (a numeric bot id of 1-16 digits before the colon).</summary>
    private static bool IsTokenAccepted(string token)
    {
        try
        {
            _ = new TelegramBotClientOptions(token);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("^[0-9]{3,}:[A-Za-z0-9_-]{30,}$")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")]
    private static partial Regex ChatIdPattern();

    /// <summary>Our message id for a Telegram message: message ids are unique per chat only.</summary>
    public static string MessageId(long chatId, long messageId) => string.Create(CultureInfo.InvariantCulture, $"{chatId}_{messageId}");
}


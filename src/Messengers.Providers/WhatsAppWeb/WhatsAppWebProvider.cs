using System.Text.RegularExpressions;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>
/// WhatsApp through WhatsApp Web in headless Chromium (provider "whatsapp-web"): one browser context per instance in
/// the shared <see cref="BrowserPool"/>, wa-js as the page-side library, pairing by QR (or by phone code on request),
/// the authenticated session saved encrypted through <see cref="IWhatsAppSessionStore"/>.
/// </summary>
public sealed partial class WhatsAppWebProvider(
    BrowserPool pool,
    IWhatsAppSessionStore sessions,
    IWhatsAppAccountLeases leases,
    IMediaStore media,
    IOptions<WhatsAppWebOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : IMessengerProvider
{
    public const string ProviderName = "whatsapp-web";

    public string Name => ProviderName;

    public ProviderCapabilities Capabilities
        => ProviderCapabilities.Text | ProviderCapabilities.Media | ProviderCapabilities.Groups | ProviderCapabilities.History
            | ProviderCapabilities.QrPairing | ProviderCapabilities.Typing | ProviderCapabilities.ReadReceipts | ProviderCapabilities.Reactions
            | ProviderCapabilities.Contacts;

    public IReadOnlyDictionary<string, string[]> Validate(IReadOnlyDictionary<string, string> credentials, IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(settings);
        var errors = new Dictionary<string, string[]>();
        if (settings.TryGetValue("pairingPhone", out var phone) && !PhonePattern().IsMatch(phone))
        {
            errors["settings.pairingPhone"] = ["pairingPhone must be the phone number in international format, digits only."];
        }

        return errors;
    }

    public bool IsValidChatId(string chatId) => chatId is not null && ChatIdPattern().IsMatch(chatId);

    /// <summary>A deleted instance's saved WhatsApp session must not outlive it (it is a live login to the account).</summary>
    public Task ForgetInstanceAsync(string instanceId, CancellationToken cancellationToken) => sessions.ClearAsync(instanceId, cancellationToken);

    public IMessengerConnection Connect(ConnectionConfig config, IConnectionCallbacks callbacks)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(callbacks);
        return new WhatsAppWebConnection(config.InstanceId, pool, sessions, leases, media, callbacks, options.Value, time, loggers.CreateLogger<WhatsAppWebConnection>());
    }

    [GeneratedRegex("^[0-9]{6,20}(-[0-9]{6,20})?@(c\\.us|g\\.us|lid|s\\.whatsapp\\.net|newsletter|broadcast)$")]
    private static partial Regex ChatIdPattern();

    [GeneratedRegex("^[0-9]{6,20}$")]
    private static partial Regex PhonePattern();
}

using Messengers.Testing.Fakes.Telegram;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// An embedded host (fresh storage) whose Telegram provider talks to a fake Bot API on loopback with one bot
/// registered; polls are short so that stopping is quick.
/// </summary>
public sealed class TelegramGateway : IAsyncDisposable
{
    private readonly EmbeddedHostFixture _backend = new();

    private TelegramGateway(FakeTelegramServer telegram) => Telegram = telegram;

    public FakeTelegramServer Telegram { get; }

    public MessengersFactory Factory { get; private set; } = null!;

    /// <param name="extraSettings">Further host settings (agent retries, say), over the defaults.</param>
    public static async Task<TelegramGateway> StartAsync(string token, string botUsername, string botName, IReadOnlyDictionary<string, string?>? extraSettings = null)
    {
        var gateway = new TelegramGateway(await FakeTelegramServer.StartAsync(cancellationToken: Api.Ct));
        gateway.Telegram.AddBot(token, botUsername, botName);
        var settings = await gateway._backend.NewBackendAsync();
        settings["Messengers:Telegram:ApiBaseUrl"] = gateway.Telegram.BaseUrl.ToString();
        settings["Messengers:Telegram:PollTimeoutSeconds"] = "1";
        foreach (var (name, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[name] = value;
        }

        gateway.Factory = new MessengersFactory(settings);
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        if (Factory is not null)
        {
            await Factory.DisposeAsync();
        }

        await Telegram.DisposeAsync();
        await _backend.DisposeAsync();
    }
}

/// <summary>A test class with a <see cref="TelegramGateway"/> of its own for each test: one bot on the fake Bot API.</summary>
public abstract class TelegramGatewayTests(string token, string botUsername, string botName, IReadOnlyDictionary<string, string?>? extraSettings = null) : IAsyncLifetime
{
    private TelegramGateway? _gateway;

    protected FakeTelegramServer Telegram => _gateway!.Telegram;

    protected MessengersFactory Factory => _gateway!.Factory;

    public virtual async ValueTask InitializeAsync() => _gateway = await TelegramGateway.StartAsync(token, botUsername, botName, extraSettings);

    public virtual async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

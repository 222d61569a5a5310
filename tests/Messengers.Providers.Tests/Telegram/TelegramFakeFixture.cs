using Messengers.Testing.Fakes.Telegram;
using Telegram.Bot;

namespace Messengers.Providers.Tests.Telegram;

/// <summary>One fake Bot API server per test, with a registered bot and a client pointed at it.</summary>
public abstract class TelegramFakeTestBase : IAsyncLifetime
{
    protected const string Token = "123456789:AAHfakeTokenForTests_abcdefghijklmn";

    protected FakeTelegramServer Fake { get; set; } = null!;

    protected HttpClient Http { get; } = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };

    protected TelegramBotClient Client { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync()
    {
        Fake = await FakeTelegramServer.StartAsync(cancellationToken: Ct);
        Fake.AddBot(Token, "gateway_bot", "GatewayBot");
        Client = NewClient(Token, Fake.BaseUrl);
    }

    /// <summary>A Telegram.Bot client set up the way TelegramProvider builds one: our HttpClient, no 429 retries of its own.</summary>
    protected TelegramBotClient NewClient(string token, Uri baseUrl, HttpClient? http = null)
        => new(new TelegramBotClientOptions(token, baseUrl.ToString()) { RetryThreshold = 0 }, http ?? Http);

    public virtual async ValueTask DisposeAsync()
    {
        await Fake.DisposeAsync();
        Http.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 30_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        while (!condition())
        {
            await Task.Delay(5, cts.Token);
        }
    }
}

using System.Net;
using System.Text.Json;
using Messengers.Host.Tests.Infrastructure;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>
/// The REST API, the web chat and the host's lifecycle through WebApplicationFactory&lt;Program&gt;, the same for both
/// configurations: <see cref="EmbeddedHostApiTests"/> (SQLite + memory streams) and <see cref="ProductionHostApiTests"/>
/// (PostgreSQL + Redis Streams).
/// </summary>
public abstract partial class HostApiTests(HostFixture fixture)
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(15);

    protected HostFixture Fixture { get; } = fixture;

    private HttpClient Admin() => HostFixture.Client(Fixture.Factory, HostFixture.AdminKey);

    private HttpClient Anonymous() => HostFixture.Client(Fixture.Factory, null);

    private HttpClient WithKey(string key) => HostFixture.Client(Fixture.Factory, key);

    [Fact]
    public async Task WebChat_VisitorMessage_EchoReplyOnStreamHistoryAndChats()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("echo loop");
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitor = Anonymous();
        var visitorId = "visitor-" + Guid.NewGuid().ToString("N")[..8];

        using var events = await SseReader.OpenAsync(visitor, $"/webchat/{created.Id}/events?visitorId={visitorId}", Ct);
        Assert.Equal("text/event-stream", events.ContentType);
        var accepted = await visitor.PostVisitorMessageAsync(created.Id, visitorId, "hello there");
        var inboundId = accepted.GetProperty("messageId").GetString()!;

        // The stream carries the visitor's own message ("in", same id) and the reply ("out"); the echo answers at
        // once, so no typing indicator is shown for it (AgentBridgeHostTests covers typing for a slow agent).
        var seen = await events.CollectUntilAsync(
            list => list.Any(e => e.Event == "message" && e.Data.Contains("\"direction\":\"out\"", StringComparison.Ordinal))
                && list.Any(e => e.Event == "message" && e.Data.Contains("\"direction\":\"in\"", StringComparison.Ordinal)),
            EventTimeout, Ct);
        var messagesSeen = seen.Where(e => e.Event == "message").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        var own = Assert.Single(messagesSeen, m => m.GetProperty("direction").GetString() == "in");
        Assert.Equal(inboundId, own.GetProperty("messageId").GetString());
        Assert.Equal("hello there", own.GetProperty("text").GetString());
        Assert.DoesNotContain(seen, e => e.Event == "typing" && e.Data == """{"typing":true}""");
        var reply = Assert.Single(messagesSeen, m => m.GetProperty("direction").GetString() == "out");
        Assert.Equal("Echo: hello there", reply.GetProperty("text").GetString());
        Assert.Equal("out", reply.GetProperty("direction").GetString());

        // The visitor's history (newest first) has both. The reply is pushed to the page as it is sent and stored
        // right after, so the history may lag the event by a moment.
        var history = await Eventually.UntilAsync(
            async () => await (await visitor.GetAsync($"/webchat/{created.Id}/history?visitorId={visitorId}", Ct)).ExpectAsync(HttpStatusCode.OK),
            h => h.Items().Count() == 2,
            what: "both messages in the history");
        var turns = history.Items().Select(m => (m.GetProperty("direction").GetString(), m.GetProperty("text").GetString())).ToList();
        Assert.Equal([("out", "Echo: hello there"), ("in", "hello there")], turns);
        Assert.Equal(inboundId, history.Items().Last().GetProperty("messageId").GetString());

        // The instance's own key sees the chat and its messages.
        using var owner = WithKey(created.ApiKey);
        var chats = await (await owner.GetAsync($"{Instances}/{created.Id}/chats", Ct)).ExpectAsync(HttpStatusCode.OK);
        var chat = Assert.Single(chats.Items());
        Assert.Equal(visitorId, chat.GetProperty("chatId").GetString());
        Assert.Equal(2, chat.GetProperty("messageCount").GetInt32());
        Assert.Equal("Echo: hello there", chat.GetProperty("lastMessageBody").GetString());
        Assert.True(chat.GetProperty("lastMessageFromMe").GetBoolean());

        var messages = await (await owner.GetAsync($"{Instances}/{created.Id}/chats/{visitorId}/messages", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["Echo: hello there", "hello there"], messages.Items().Select(m => m.GetProperty("body").GetString()));
        Assert.Equal([true, false], messages.Items().Select(m => m.GetProperty("fromMe").GetBoolean()));
        Assert.Equal(JsonValueKind.Null, messages.GetProperty("next").ValueKind);

        var counted = await Eventually.UntilAsync(() => owner.GetInstanceAsync(created.Id), i => i.Counters() == (1, 1), what: "counters 1 in, 1 out");
        Assert.Equal((1, 1), counted.Counters());
    }

    [Fact]
    public async Task CreateInstance_ApiKey_ReturnedOnceAndNeverAgain()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("key once");
        Assert.StartsWith("msk_", created.ApiKey, StringComparison.Ordinal);
        Assert.Equal("webchat", created.Instance.GetProperty("provider").GetString());
        Assert.Equal("echo", created.Instance.GetProperty("agent").GetProperty("backend").GetString());

        var one = await (await admin.GetAsync($"{Instances}/{created.Id}", Ct)).Content.ReadAsStringAsync(Ct);
        var list = await (await admin.GetAsync(Instances, Ct)).Content.ReadAsStringAsync(Ct);
        var status = await (await admin.GetAsync($"{Instances}/{created.Id}/status", Ct)).Content.ReadAsStringAsync(Ct);
        foreach (var body in new[] { one, list, status })
        {
            Assert.DoesNotContain(created.ApiKey, body, StringComparison.Ordinal);
            Assert.DoesNotContain("apiKey", body, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains(created.Id, list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_ManyInOneChat_NewestFirstPagedWithNext()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("paging", agent: new { backend = "echo", enabled = false });
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var owner = WithKey(created.ApiKey);
        const string chatId = "pager";
        for (var i = 1; i <= 5; i++)
        {
            await (await owner.PostAsync($"{Instances}/{created.Id}/messages", Json(new { chatId, text = $"m{i}" }), Ct)).ExpectAsync(HttpStatusCode.Created);
        }

        var seen = new List<string>();
        string? next = null;
        var pages = 0;
        do
        {
            var url = $"{Instances}/{created.Id}/chats/{chatId}/messages?limit=2" + (next is null ? "" : "&before=" + Uri.EscapeDataString(next));
            var page = await (await owner.GetAsync(url, Ct)).ExpectAsync(HttpStatusCode.OK);
            seen.AddRange(page.Items().Select(m => m.GetProperty("body").GetString()!));
            next = page.GetProperty("next").GetString();
            pages++;
        }
        while (next is not null && pages < 10);

        Assert.Equal(["m5", "m4", "m3", "m2", "m1"], seen);
        Assert.Equal(3, pages);
        var counted = await Eventually.UntilAsync(() => owner.GetInstanceAsync(created.Id), i => i.Counters().Out == 5, what: "5 outgoing counted");
        Assert.Equal((0, 5), counted.Counters());
    }

    [Fact]
    public async Task Lifecycle_StopStartRestartLogoutDelete_StatusFollows()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("lifecycle");
        var ready = await admin.WaitForStatusAsync(created.Id, "Ready");
        Assert.Equal("Running", ready.GetProperty("desiredState").GetString());

        var stopped = await (await admin.PostAsync($"{Instances}/{created.Id}/stop", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Stopped", stopped.Status());
        Assert.Equal("Stopped", stopped.GetProperty("desiredState").GetString());

        await (await admin.PostAsync($"{Instances}/{created.Id}/start", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        await admin.WaitForStatusAsync(created.Id, "Ready");

        await (await admin.PostAsync($"{Instances}/{created.Id}/restart", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        var restarted = await admin.WaitForStatusAsync(created.Id, "Ready");
        Assert.Equal("Running", restarted.GetProperty("desiredState").GetString());

        var loggedOut = await (await admin.PostAsync($"{Instances}/{created.Id}/logout", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Stopped", loggedOut.Status());
        Assert.Equal("logged out", loggedOut.GetProperty("statusReason").GetString());
        Assert.Equal(JsonValueKind.Null, loggedOut.GetProperty("account").ValueKind);

        var status = await (await admin.GetAsync($"{Instances}/{created.Id}/status", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Stopped", status.Status());

        await (await admin.DeleteAsync($"{Instances}/{created.Id}", Ct)).ExpectAsync(HttpStatusCode.NoContent);
        await (await admin.GetAsync($"{Instances}/{created.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
        await (await admin.PostAsync($"{Instances}/{created.Id}/start", null, Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
        await (await admin.DeleteAsync($"{Instances}/{created.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
        var list = await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(list.Items(), i => i.GetProperty("id").GetString() == created.Id);

        // The deleted instance's key is gone with it.
        using var owner = WithKey(created.ApiKey);
        await (await owner.GetAsync($"{Instances}/{created.Id}", Ct)).ExpectAsync(HttpStatusCode.Unauthorized);
        using var visitor = Anonymous();
        await (await visitor.PostAsync($"/webchat/{created.Id}/messages", Json(new { visitorId = "v1", text = "anyone?" }), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "not available");
    }

    [Fact]
    public async Task VisitorPost_WhileStopped_Returns503AndStoresNothing()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("offline");
        await admin.WaitForStatusAsync(created.Id, "Ready");
        await (await admin.PostAsync($"{Instances}/{created.Id}/stop", null, Ct)).ExpectAsync(HttpStatusCode.OK);

        using var visitor = Anonymous();
        var response = await visitor.PostAsync($"/webchat/{created.Id}/messages", Json(new { visitorId = "v-offline", text = "is anyone there?" }), Ct);
        await response.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable, "offline");
        Assert.NotNull(response.Headers.RetryAfter);

        var history = await (await visitor.GetAsync($"/webchat/{created.Id}/history?visitorId=v-offline", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(history.Items());
        Assert.Equal((0, 0), (await admin.GetInstanceAsync(created.Id)).Counters());

        // Started again, the same visitor is answered.
        await (await admin.PostAsync($"{Instances}/{created.Id}/start", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        await admin.WaitForStatusAsync(created.Id, "Ready");
        await visitor.PostVisitorMessageAsync(created.Id, "v-offline", "now?");
        await Eventually.UntilAsync(
            async () => await (await visitor.GetAsync($"/webchat/{created.Id}/history?visitorId=v-offline", Ct)).ReadJsonAsync(),
            h => h.Items().Any(m => m.GetProperty("text").GetString() == "Echo: now?"),
            what: "the echo after the restart");
    }

    [Fact]
    public async Task CreateInstance_StartFalse_StaysStoppedUntilStarted()
    {
        using var admin = Admin();
        var response = await admin.PostAsync(Instances, Json(new { name = "later", provider = "webchat", start = false }), Ct);
        var body = await response.ExpectAsync(HttpStatusCode.Created);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal(("Created", "Stopped"), (body.Status(), body.GetProperty("desiredState").GetString()));
        Assert.Equal("echo", body.GetProperty("agent").GetProperty("backend").GetString());

        using var visitor = Anonymous();
        await (await visitor.PostAsync($"/webchat/{id}/messages", Json(new { visitorId = "early", text = "hi" }), Ct)).ExpectProblemAsync(HttpStatusCode.ServiceUnavailable, "offline");
        await (await admin.PostAsync($"{Instances}/{id}/start", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        await admin.WaitForStatusAsync(id, "Ready");
        await visitor.PostVisitorMessageAsync(id, "early", "hi again");
    }

    [Fact]
    public async Task VisitorPost_DisallowedOriginOrDisabledChat_Rejected()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("origins", webChat: new { allowedOrigins = new[] { "https://shop.example" } });
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitor = Anonymous();

        using var foreign = new HttpRequestMessage(HttpMethod.Post, $"/webchat/{created.Id}/messages") { Content = Json(new { visitorId = "v1", text = "hi" }) };
        foreign.Headers.Add("Origin", "https://evil.example");
        await (await visitor.SendAsync(foreign, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden, "evil.example");
        using var allowed = new HttpRequestMessage(HttpMethod.Post, $"/webchat/{created.Id}/messages") { Content = Json(new { visitorId = "v1", text = "hi" }) };
        allowed.Headers.Add("Origin", "https://shop.example");
        await (await visitor.SendAsync(allowed, Ct)).ExpectAsync(HttpStatusCode.Accepted);

        await (await admin.PatchAsync($"{Instances}/{created.Id}", Json(new { webChat = new { enabled = false } }), Ct)).ExpectAsync(HttpStatusCode.OK);
        await (await visitor.PostAsync($"/webchat/{created.Id}/messages", Json(new { visitorId = "v1", text = "hi" }), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "not available");
        await (await visitor.GetAsync($"/webchat/{created.Id}/history?visitorId=v1", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "not available");
    }

    [Fact]
    public async Task Patch_NameAndAgent_Updated()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("before");
        var patched = await (await admin.PatchAsync($"{Instances}/{created.Id}", Json(new { name = "  after  ", agent = new { backend = "openai", baseUrl = "http://127.0.0.1:9/v1", model = "m" } }), Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("after", patched.GetProperty("name").GetString());
        Assert.Equal("openai", patched.GetProperty("agent").GetProperty("backend").GetString());
        Assert.Equal("m", patched.GetProperty("agent").GetProperty("model").GetString());

        var read = await admin.GetInstanceAsync(created.Id);
        Assert.Equal("after", read.GetProperty("name").GetString());
        Assert.Equal("http://127.0.0.1:9/v1", read.GetProperty("agent").GetProperty("baseUrl").GetString());

        await (await admin.PatchAsync($"{Instances}/{created.Id}", Json(new { name = "" }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "name");
        await (await admin.PatchAsync($"{Instances}/{created.Id}", Json(new { agent = new { backend = "nope" } }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "agent.backend", "nope");
        await (await admin.PatchAsync($"{Instances}/{created.Id}", Json("""{"provider":"telegram"}"""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "provider");
        Assert.Equal("after", (await admin.GetInstanceAsync(created.Id)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Auth_MissingOrWrongKey_Returns401()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("auth 401");
        using var none = Anonymous();
        using var wrong = WithKey("msk_wrong_key");
        using var forged = WithKey(created.ApiKey[..^2] + "xx");
        foreach (var client in new[] { none, wrong, forged })
        {
            await (await client.GetAsync(Instances, Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized, "Bearer");
            await (await client.PostAsync(Instances, Json(new { name = "x", provider = "webchat" }), Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            await (await client.GetAsync($"{Instances}/{created.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            await (await client.GetAsync($"{Instances}/{created.Id}/chats", Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            await (await client.PostAsync($"{Instances}/{created.Id}/stop", null, Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        }

        Assert.Equal("Running", (await admin.GetInstanceAsync(created.Id)).GetProperty("desiredState").GetString());
    }

    [Fact]
    public async Task Auth_OtherInstanceKey_Returns403OnThatInstance()
    {
        using var admin = Admin();
        var mine = await admin.CreateWebChatAsync("mine");
        var theirs = await admin.CreateWebChatAsync("theirs");
        using var client = WithKey(mine.ApiKey);

        await (await client.GetAsync($"{Instances}/{mine.Id}", Ct)).ExpectAsync(HttpStatusCode.OK);
        await (await client.GetAsync($"{Instances}/{mine.Id}/chats", Ct)).ExpectAsync(HttpStatusCode.OK);
        await (await client.GetAsync($"{Instances}/{theirs.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden, "another instance");
        await (await client.GetAsync($"{Instances}/{theirs.Id}/chats", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostAsync($"{Instances}/{theirs.Id}/messages", Json(new { chatId = "v1", text = "hi" }), Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostAsync($"{Instances}/{theirs.Id}/stop", null, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await client.PostAsync($"{Instances}/{theirs.Id}/apikey", null, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        await (await client.DeleteAsync($"{Instances}/{theirs.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("Running", (await admin.GetInstanceAsync(theirs.Id)).GetProperty("desiredState").GetString());
    }

    [Fact]
    public async Task Auth_InstanceKeyOnAdminRoutes_Returns403()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("not an admin");
        using var client = WithKey(created.ApiKey);
        await (await client.GetAsync(Instances, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden, "admin key");
        await (await client.PostAsync(Instances, Json(new { name = "sneaky", provider = "webchat" }), Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden, "admin key");
        await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task RotateKey_OldKeyRejected_NewKeyAccepted()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("rotate");
        using var old = WithKey(created.ApiKey);
        var rotated = await (await old.PostAsync($"{Instances}/{created.Id}/apikey", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        var newKey = rotated.GetProperty("apiKey").GetString()!;
        Assert.NotEqual(created.ApiKey, newKey);

        await (await old.GetAsync($"{Instances}/{created.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        using var fresh = WithKey(newKey);
        await (await fresh.GetAsync($"{Instances}/{created.Id}", Ct)).ExpectAsync(HttpStatusCode.OK);

        // The admin may rotate too; then the second key stops working.
        var again = await (await admin.PostAsync($"{Instances}/{created.Id}/apikey", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        await (await fresh.GetAsync($"{Instances}/{created.Id}", Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        using var third = WithKey(again.GetProperty("apiKey").GetString()!);
        await (await third.GetAsync($"{Instances}/{created.Id}/status", Ct)).ExpectAsync(HttpStatusCode.OK);
    }

    public static TheoryData<string, string, string[]> InvalidCreateBodies => new()
    {
        { "missing provider", """{"name":"x"}""", ["provider", "required"] },
        { "unknown provider", """{"name":"x","provider":"carrier-pigeon"}""", ["provider", "carrier-pigeon"] },
        { "missing name", """{"provider":"webchat"}""", ["name", "required"] },
        { "name too long", "{\"name\":\"" + new string('n', 101) + "\",\"provider\":\"webchat\"}", ["name", "longer than 100"] },
        { "agent timeout out of range", """{"name":"x","provider":"webchat","agent":{"backend":"echo","timeoutSeconds":0}}""", ["agent.timeoutSeconds"] },
        { "unknown agent backend", """{"name":"x","provider":"webchat","agent":{"backend":"oracle"}}""", ["agent.backend", "oracle"] },
        { "agent without baseUrl", """{"name":"x","provider":"webchat","agent":{"backend":"agno"}}""", ["agent.baseUrl"] },
        { "credentials on webchat", """{"name":"x","provider":"webchat","credentials":{"botToken":"1"}}""", ["credentials"] },
        { "unknown JSON field", """{"name":"x","provider":"webchat","colour":"blue"}""", ["colour"] },
        { "malformed JSON", """{"name":"x","provider":""", ["not valid"] },
        { "wrong JSON type", """{"name":42,"provider":"webchat"}""", ["name"] },
    };

    [Theory]
    [MemberData(nameof(InvalidCreateBodies))]
    public async Task CreateInstance_InvalidBody_Returns400ProblemNamingIt(string label, string body, string[] fragments)
    {
        using var admin = Admin();
        var before = (await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK)).GetProperty("total").GetInt32();
        var response = await admin.PostAsync(Instances, Json(body), Ct);
        await response.ExpectProblemAsync(HttpStatusCode.BadRequest, fragments);
        _ = label; // names the case in the test list
        var after = (await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK)).GetProperty("total").GetInt32();
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task SendMessage_InvalidInput_Returns400ProblemNamingIt()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("send validation");
        using var owner = WithKey(created.ApiKey);
        var url = $"{Instances}/{created.Id}/messages";
        await (await owner.PostAsync(url, Json(new { chatId = "bad chat id!", text = "x" }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "chatId", "bad chat id!");
        await (await owner.PostAsync(url, Json(new { text = "x" }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "chatId", "required");
        await (await owner.PostAsync(url, Json(new { chatId = "v1", text = "" }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "text", "required");
        await (await owner.PostAsync(url, Json(new { chatId = "v1", text = new string('x', 20_000) }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "text", "longer than");
        await (await owner.PostAsync(url, Json("""{"chatId":"v1","text":"x","priority":1}"""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "priority");
        await (await owner.PostAsync(url, Json("""{"chatId":"v1","""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "not valid");

        await (await owner.GetAsync($"{Instances}/{created.Id}/chats/v1/messages?before=not-a-cursor", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "before");
        await (await owner.GetAsync($"{Instances}/{created.Id}/chats/v1/messages?before=" + Uri.EscapeDataString(Convert.ToBase64String("no separator"u8)), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "before");
        await (await owner.GetAsync($"{Instances}/{created.Id}/qr?format=gif", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "format");
        await (await owner.GetAsync($"{Instances}/{created.Id}/chats/v1/messages?limit=abc", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "limit");
        Assert.Equal((0, 0), (await owner.GetInstanceAsync(created.Id)).Counters());
    }

    [Fact]
    public async Task VisitorPost_InvalidInput_Returns400ProblemNamingIt()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("visitor validation");
        using var visitor = Anonymous();
        var url = $"/webchat/{created.Id}/messages";
        await (await visitor.PostAsync(url, Json(new { visitorId = "v1", text = "  " }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "text", "required");
        await (await visitor.PostAsync(url, Json(new { visitorId = "v1", text = new string('y', 4001) }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "text", "longer than");
        await (await visitor.PostAsync(url, Json(new { visitorId = "no spaces allowed", text = "hi" }), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "visitorId");
        await (await visitor.PostAsync(url, Json("""{"visitorId":"v1","text":"hi","admin":true}"""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "admin");
        await (await visitor.PostAsync(url, Json("""[1,2"""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "not valid");
        await (await visitor.GetAsync($"/webchat/{created.Id}/history", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "visitorId");
        await (await visitor.GetAsync($"/webchat/{created.Id}/events", Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest, "visitorId");
        await (await visitor.PostAsync("/webchat/nosuchchat/messages", Json(new { visitorId = "v1", text = "hi" }), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "not available");
        Assert.Equal((0, 0), (await admin.GetInstanceAsync(created.Id)).Counters());
    }

    [Fact]
    public async Task VisitorPost_OverMessagesPerMinute_Returns429WithRetryAfter()
    {
        using var admin = Admin();
        var created = await admin.CreateWebChatAsync("limited", webChat: new { messagesPerMinute = 2 });
        await admin.WaitForStatusAsync(created.Id, "Ready");
        using var visitor = Anonymous();
        await visitor.PostVisitorMessageAsync(created.Id, "speedy", "one");
        await visitor.PostVisitorMessageAsync(created.Id, "speedy", "two");
        var third = await visitor.PostAsync($"/webchat/{created.Id}/messages", Json(new { visitorId = "speedy", text = "three" }), Ct);
        await third.ExpectProblemAsync(HttpStatusCode.TooManyRequests, "2 messages per minute");
        var retryAfter = third.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        // Another visitor of the same chat has a window of its own.
        await visitor.PostVisitorMessageAsync(created.Id, "patient", "hello");
    }

    [Fact]
    public async Task ApiKey_OverRequestsPerMinute_Returns429WithRetryAfter()
    {
        var settings = await Fixture.NewBackendAsync();
        settings["Messengers:RequestsPerMinute"] = "3";
        await using var factory = new MessengersFactory(settings);
        using var admin = HostFixture.Client(factory, HostFixture.AdminKey);
        for (var i = 0; i < 3; i++)
        {
            await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        }

        var limited = await admin.GetAsync(Instances, Ct);
        await limited.ExpectProblemAsync(HttpStatusCode.TooManyRequests, "3 requests per minute");
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        // The limit is per key: another key (even a wrong one) has its own window, and the visitor routes have none.
        using var other = HostFixture.Client(factory, "msk_someone_else");
        await (await other.GetAsync(Instances, Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        using var visitor = HostFixture.Client(factory, null);
        await (await visitor.GetAsync("/health", Ct)).ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task InstanceRoutes_UnknownOrMalformedId_Return404()
    {
        using var admin = Admin();
        foreach (var id in new[] { "nosuchinstance", "UPPER-case", "x" })
        {
            await (await admin.GetAsync($"{Instances}/{id}", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
            await (await admin.PatchAsync($"{Instances}/{id}", Json(new { name = "n" }), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
            await (await admin.PostAsync($"{Instances}/{id}/stop", null, Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
            await (await admin.PostAsync($"{Instances}/{id}/apikey", null, Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
            await (await admin.GetAsync($"{Instances}/{id}/chats", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
            await (await admin.PostAsync($"{Instances}/{id}/messages", Json(new { chatId = "v1", text = "hi" }), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no instance");
        }

        using var visitor = Anonymous();
        await (await visitor.GetAsync("/webchat/nosuchinstance/events?visitorId=v1", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "not available");
        await (await visitor.GetAsync("/webchat/nosuchinstance/history?visitorId=v1", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "not available");
    }

    [Fact]
    public async Task HostRestart_SameStorage_InstanceResumedWithHistoryAndKey()
    {
        var settings = await Fixture.NewBackendAsync();
        string id, key, stoppedId, visitorId = "returning";
        await using (var first = new MessengersFactory(settings))
        {
            using var admin = HostFixture.Client(first, HostFixture.AdminKey);
            var created = await admin.CreateWebChatAsync("survivor");
            (id, key) = (created.Id, created.ApiKey);
            await admin.WaitForStatusAsync(id, "Ready");
            using var visitor = HostFixture.Client(first, null);
            await visitor.PostVisitorMessageAsync(id, visitorId, "remember me");
            await Eventually.UntilAsync(() => admin.GetInstanceAsync(id), i => i.Counters() == (1, 1), what: "the echo to be counted");
            var parked = await admin.CreateWebChatAsync("parked");
            stoppedId = parked.Id;
            await (await admin.PostAsync($"{Instances}/{stoppedId}/stop", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        }

        var restartedAt = DateTimeOffset.UtcNow;
        await using var second = new MessengersFactory(settings);
        using var admin2 = HostFixture.Client(second, HostFixture.AdminKey);
        var list = await (await admin2.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal([id, stoppedId], list.Items().Select(i => i.GetProperty("id").GetString()));

        // Resumed by this host: its status changed (Starting, then Ready) after the restart.
        var resumed = await Eventually.UntilAsync(
            () => admin2.GetInstanceAsync(id),
            i => i.Status() == "Ready" && i.GetProperty("statusChangedAt").GetDateTimeOffset() >= restartedAt,
            what: "the instance to be resumed");
        Assert.Equal("Running", resumed.GetProperty("desiredState").GetString());
        var parkedAfter = await admin2.GetInstanceAsync(stoppedId);
        Assert.Equal(("Stopped", "Stopped"), (parkedAfter.Status(), parkedAfter.GetProperty("desiredState").GetString()));
        Assert.Equal((1, 1), resumed.Counters());

        using var owner = HostFixture.Client(second, key);
        var messages = await (await owner.GetAsync($"{Instances}/{id}/chats/{visitorId}/messages", Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["Echo: remember me", "remember me"], messages.Items().Select(m => m.GetProperty("body").GetString()));

        // And it still answers.
        using var visitor2 = HostFixture.Client(second, null);
        await visitor2.PostVisitorMessageAsync(id, visitorId, "still there?");
        await Eventually.UntilAsync(
            async () => await (await visitor2.GetAsync($"/webchat/{id}/history?visitorId={visitorId}", Ct)).ReadJsonAsync(),
            h => h.Items().Count() == 4,
            what: "the second echo");
    }
}

public sealed class EmbeddedHostApiTests(EmbeddedHostFixture fixture) : HostApiTests(fixture), IClassFixture<EmbeddedHostFixture>
{
    [Fact]
    public async Task AdminKey_NotConfigured_GeneratedOnceAndKeptAcrossRestarts()
    {
        var settings = await Fixture.NewBackendAsync(withAdminKey: false);
        var hashFile = Path.Combine(settings["Messengers:DataPath"]!, "admin-key.sha256");
        string generated, hash;
        await using (var first = new MessengersFactory(settings))
        {
            generated = first.Services.GetRequiredService<Hosting.AdminKey>().GeneratedKey!;
            Assert.False(string.IsNullOrEmpty(generated));
            Assert.True(File.Exists(hashFile));
            hash = await File.ReadAllTextAsync(hashFile, Ct);
            Assert.DoesNotContain(generated, hash, StringComparison.Ordinal);
            using var admin = HostFixture.Client(first, generated);
            await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        }

        await using var second = new MessengersFactory(settings);
        Assert.Null(second.Services.GetRequiredService<Hosting.AdminKey>().GeneratedKey);
        Assert.Equal(hash, await File.ReadAllTextAsync(hashFile, Ct));
        using var again = HostFixture.Client(second, generated);
        await (await again.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        using var configuredElsewhere = HostFixture.Client(second, HostFixture.AdminKey);
        await (await configuredElsewhere.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.Unauthorized);

        // A configured key takes over, without touching the stored hash.
        await using var third = new MessengersFactory(new Dictionary<string, string?>(settings) { ["Messengers:AdminKey"] = HostFixture.AdminKey });
        using var configured = HostFixture.Client(third, HostFixture.AdminKey);
        await (await configured.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.Null(third.Services.GetRequiredService<Hosting.AdminKey>().GeneratedKey);
        Assert.Equal(hash, await File.ReadAllTextAsync(hashFile, Ct));
    }
}

public sealed class ProductionHostApiTests(ProductionHostFixture fixture) : HostApiTests(fixture), IClassFixture<ProductionHostFixture>;

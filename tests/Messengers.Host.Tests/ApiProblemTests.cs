using System.Net;
using System.Net.Http.Headers;
using Messengers.Host.Tests.Infrastructure;
using static Messengers.Host.Tests.Infrastructure.Api;

namespace Messengers.Host.Tests;

/// <summary>Route shapes the framework answers on its own (no route, wrong method, wrong body type) answer problem+json saying what fits.</summary>
public sealed class ApiProblemTests(EmbeddedHostFixture fixture) : IClassFixture<EmbeddedHostFixture>
{
    [Fact]
    public async Task UnmatchedApiRoute_AnyMethodOrKey_Returns404ProblemNamingMethodAndPath()
    {
        using var admin = HostFixture.Client(fixture.Factory, HostFixture.AdminKey);
        await (await admin.GetAsync("/api/v1/instancez", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "No route GET /api/v1/instancez", "/openapi/v1.json");
        await (await admin.DeleteAsync($"{Instances}/some-id/nothing/here", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "No route DELETE /api/v1/instances/some-id/nothing/here");

        // Without a key, and from a browser that prefers HTML: still problem+json under /api.
        using var anonymous = HostFixture.Client(fixture.Factory, null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v2/messages") { Content = Json(new { text = "hi" }) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        await (await anonymous.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "No route POST /api/v2/messages");

        // A route that exists but finds nothing keeps its own problem.
        var missing = await (await admin.GetAsync($"{Instances}/no-such-instance", Ct)).ExpectProblemAsync(HttpStatusCode.NotFound, "no-such-instance");
        Assert.DoesNotContain("No route", missing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KnownApiRoute_WrongMethod_Returns405ProblemNamingAllowedMethods()
    {
        using var admin = HostFixture.Client(fixture.Factory, HostFixture.AdminKey);
        using var put = await admin.PutAsync(Instances, Json(new { name = "x" }), Ct);
        var problem = await put.ExpectProblemAsync(HttpStatusCode.MethodNotAllowed, "PUT is not allowed on /api/v1/instances", "GET", "POST");
        Assert.Contains("POST", put.Content.Headers.Allow);
        Assert.Contains("GET", put.Content.Headers.Allow);
        Assert.DoesNotContain("DELETE", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonApiRoute_WrongOrMissingContentType_Returns415ProblemNamingAcceptedTypes()
    {
        using var admin = HostFixture.Client(fixture.Factory, HostFixture.AdminKey);
        var body = """{"name":"x","provider":"webchat","agent":{"backend":"echo"}}""";
        await (await admin.PostAsync(Instances, new StringContent(body, System.Text.Encoding.UTF8, "text/plain"), Ct))
            .ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "POST /api/v1/instances reads application/json", "'text/plain; charset=utf-8'");
        // Without a Content-Type routing lets it through and the body binding refuses it: the same answer.
        using var noType = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body));
        await (await admin.PostAsync(Instances, noType, Ct)).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType, "POST /api/v1/instances reads application/json", "missing");
        var listed = await (await admin.GetAsync(Instances, Ct)).ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(listed.Items(), i => i.GetProperty("name").GetString() == "x");
    }

    [Fact]
    public async Task StatusCodePages_DashboardWebChatAndMcp_AnswerAsBefore()
    {
        using var anonymous = HostFixture.Client(fixture.Factory, null);
        using var dashboard = await anonymous.GetAsync("/", Ct);
        Assert.Equal((HttpStatusCode.OK, "text/html"), (dashboard.StatusCode, dashboard.Content.Headers.ContentType?.MediaType));
        using var script = await anonymous.GetAsync("/dashboard.js", Ct);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);

        using var admin = HostFixture.Client(fixture.Factory, HostFixture.AdminKey);
        var created = await admin.CreateWebChatAsync("status pages");
        using var page = await anonymous.GetAsync($"/webchat/{created.Id}", Ct);
        Assert.Equal((HttpStatusCode.OK, "text/html"), (page.StatusCode, page.Content.Headers.ContentType?.MediaType));

        // MCP writes its own JSON-RPC errors; the status pages leave them alone.
        using var mcp = await anonymous.PostAsync("/mcp", Json("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, mcp.StatusCode);
        Assert.Contains("jsonrpc", await mcp.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        // Outside /api a missing file is a plain 404 (no "No route" advice); a wrong method still says what fits.
        using var missing = await anonymous.GetAsync("/no-such-page.html", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.DoesNotContain("No route", await missing.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await (await anonymous.PutAsync("/health", Json("{}"), Ct)).ExpectProblemAsync(HttpStatusCode.MethodNotAllowed, "PUT is not allowed on /health", "GET");
    }
}

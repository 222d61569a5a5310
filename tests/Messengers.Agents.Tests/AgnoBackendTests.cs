using Messengers.Testing.Fakes.Agno;

namespace Messengers.Agents.Tests;

public sealed class AgnoBackendTests : IAsyncLifetime
{
    private FakeAgnoServer _agno = null!;
    private AgentHarness _harness = null!;

    public async ValueTask InitializeAsync()
    {
        _agno = await FakeAgnoServer.StartAsync();
        _harness = AgentHarness.Create();
    }

    public async ValueTask DisposeAsync()
    {
        await _harness.DisposeAsync();
        await _agno.DisposeAsync();
    }

    private AgentEndpoint Endpoint(AgnoShape shape, bool stream) =>
        new(_agno.BaseUrl) { Shape = shape, Stream = stream, ApiKey = "agno-secret-key" };

    private static FakeAgnoShape Expected(AgnoShape shape) => shape switch
    {
        AgnoShape.Playground => FakeAgnoShape.Playground,
        AgnoShape.AgentApi => FakeAgnoShape.AgentApi,
        _ => FakeAgnoShape.AgentOs,
    };

    [Theory]
    [InlineData(AgnoShape.AgentOs, false)]
    [InlineData(AgnoShape.AgentOs, true)]
    [InlineData(AgnoShape.Playground, false)]
    [InlineData(AgnoShape.Playground, true)]
    [InlineData(AgnoShape.AgentApi, false)]
    [InlineData(AgnoShape.AgentApi, true)]
    public async Task Run_EachShapeAndStreamMode_RoundTripsThroughFake(AgnoShape shape, bool stream)
    {
        var request = AgentHarness.Request(Endpoint(shape, stream), text: "hello world, how are you today?");

        var reply = await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal("agno:hello world, how are you today?", reply.Text);
        var seen = Assert.Single(_agno.Requests);
        Assert.Equal(Expected(shape), seen.Shape);
        Assert.Equal("support", seen.AgentId);
        Assert.Equal(stream ? "true" : "false", seen.Stream);
        Assert.Equal(request.SessionId, seen.SessionId);
        Assert.Equal("company-7", seen.UserId);
        Assert.Equal("Bearer agno-secret-key", seen.Authorization);
        if (shape == AgnoShape.AgentApi)
        {
            Assert.StartsWith("application/json", seen.ContentType, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith("multipart/form-data", seen.ContentType, StringComparison.Ordinal);
            Assert.NotNull(reply.RunId);
            Assert.Equal(request.SessionId, reply.SessionId);
        }
    }

    [Fact]
    public async Task Run_AgentOsStreamFalseWhileServerDefaultsToStreaming_SendsFalseAndGetsJson()
    {
        _agno.AgentOsStreamDefault = true;

        var reply = await _harness.Agno.RunAsync(AgentHarness.Request(Endpoint(AgnoShape.AgentOs, false)), TestContext.Current.CancellationToken);

        Assert.Equal("agno:hello world", reply.Text);
        Assert.Equal("false", Assert.Single(_agno.Requests).Stream);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_AgentOsWithImageAndPdf_SendsBothAsFilesParts(bool stream)
    {
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
        byte[] pdf = "%PDF-1.4 fake"u8.ToArray();
        var request = AgentHarness.Request(
            Endpoint(AgnoShape.AgentOs, stream),
            text: "what is on the picture?",
            attachments: [new AgentAttachment("photo.png", "image/png", png), new AgentAttachment("doc.pdf", "application/pdf", pdf)]);

        var reply = await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal("agno:what is on the picture?", reply.Text);
        var seen = Assert.Single(_agno.Requests);
        Assert.Collection(
            seen.Files,
            f =>
            {
                Assert.Equal(("files", "photo.png", "image/png"), (f.FieldName, f.FileName, f.ContentType));
                Assert.Equal(png, f.Content);
            },
            f =>
            {
                Assert.Equal(("files", "doc.pdf", "application/pdf"), (f.FieldName, f.FileName, f.ContentType));
                Assert.Equal(pdf, f.Content);
            });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_PlaygroundWithImageAndPdf_SendsImageAndMentionsPdf(bool stream)
    {
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 9, 8, 7];
        var request = AgentHarness.Request(
            Endpoint(AgnoShape.Playground, stream),
            text: "see attached",
            attachments: [new AgentAttachment("photo.jpg", "image/jpeg", jpeg), new AgentAttachment("doc.pdf", "application/pdf", new byte[2048])]);

        var reply = await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        var seen = Assert.Single(_agno.Requests);
        var file = Assert.Single(seen.Files);
        Assert.Equal(("files", "photo.jpg", "image/jpeg"), (file.FieldName, file.FileName, file.ContentType));
        Assert.Equal(jpeg, file.Content);
        Assert.Equal("see attached\n[attachment not sent: doc.pdf (application/pdf, 2 KB): the v1 Playground takes png/jpeg/webp images, wav/mp3 audio and video only]", seen.Message);
        Assert.StartsWith("agno:see attached", reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AgentOsVoiceNoteWithCodecParameter_SendsBareContentType()
    {
        byte[] ogg = "OggS fake opus"u8.ToArray();
        var request = AgentHarness.Request(
            Endpoint(AgnoShape.AgentOs, true),
            text: "",
            attachments: [new AgentAttachment("", "audio/ogg; codecs=opus", ogg)]);

        await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        var file = Assert.Single(Assert.Single(_agno.Requests).Files);
        Assert.Equal(("audio", "audio/ogg"), (file.FileName, file.ContentType));
        Assert.Equal(ogg, file.Content);
    }

    [Fact]
    public async Task Run_AgentOsWithUnsupportedType_MentionsItInsteadOfFailingTheRun()
    {
        var request = AgentHarness.Request(
            Endpoint(AgnoShape.AgentOs, false),
            text: "my files",
            attachments: [new AgentAttachment("backup.zip", "application/zip", new byte[10])]);

        var reply = await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        var seen = Assert.Single(_agno.Requests);
        Assert.Empty(seen.Files);
        Assert.Equal("my files\n[attachment not sent: backup.zip (application/zip, 10 B): AgentOS does not take this file type]", seen.Message);
        Assert.Equal("agno:" + seen.Message, reply.Text);
    }

    [Fact]
    public async Task Run_ServerRefusesAFileType_SentAgainWithoutFilesAndNamedInMessage()
    {
        _agno.UnsupportedFileTypes = ["image/avif"];
        var request = AgentHarness.Request(
            Endpoint(AgnoShape.AgentOs, true),
            text: "new photo format",
            attachments: [new AgentAttachment("a.avif", "image/avif", new byte[5]), new AgentAttachment("b.png", "image/png", new byte[3])]);

        var reply = await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        var requests = _agno.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Equal(2, requests[0].Files.Count);
        Assert.Empty(requests[1].Files);
        Assert.Equal(
            "new photo format\n[attachment not sent: a.avif (image/avif, 5 B): the agent server refused this file type]\n[attachment not sent: b.png (image/png, 3 B): the agent server refused this file type]",
            requests[1].Message);
        Assert.Equal("agno:" + requests[1].Message, reply.Text);
    }

    [Fact]
    public async Task Run_AttachmentOverSizeLimit_SkipsItWithNoteAndSendsTheRest()
    {
        await using var harness = AgentHarness.Create(o => o.MaxAttachmentBytes = 16);
        var request = AgentHarness.Request(
            Endpoint(AgnoShape.AgentOs, false),
            text: "two photos",
            attachments: [new AgentAttachment("big.png", "image/png", new byte[17]), new AgentAttachment("small.png", "image/png", new byte[16])])
            with { OmittedMedia = [new AgentOmittedMedia("film.mp4", "video/mp4", 50L * 1024 * 1024, "larger than the 10 MB limit")] };

        await harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        var seen = Assert.Single(_agno.Requests);
        Assert.Equal("small.png", Assert.Single(seen.Files).FileName);
        Assert.Equal(
            "two photos\n[attachment not sent: film.mp4 (video/mp4, 50 MB): larger than the 10 MB limit]\n[attachment not sent: big.png (image/png, 17 B): larger than the 16 B limit]",
            seen.Message);
    }

    [Fact]
    public async Task Run_AgentApiWithMediaAndModel_SendsJsonWithModelAndMentionsTheFiles()
    {
        var endpoint = Endpoint(AgnoShape.AgentApi, false) with { Model = "gpt-4.1" };
        var request = AgentHarness.Request(endpoint, attachments: [new AgentAttachment("a.png", "image/png", [1, 2])]);

        var reply = await _harness.Agno.RunAsync(request, TestContext.Current.CancellationToken);

        var seen = Assert.Single(_agno.Requests);
        Assert.Equal("gpt-4.1", seen.Model);
        Assert.Empty(seen.Files);
        Assert.Equal("hello world\n[attachment not sent: a.png (image/png, 2 B): the agent-api shape takes no files]", seen.Message);
        Assert.Equal("agno:" + seen.Message, reply.Text);
        Assert.Contains(_harness.Logs.Lines, l => l.Contains("attachment(s) of chat", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_AgentOsShape_DoesNotSendModel()
    {
        var endpoint = Endpoint(AgnoShape.AgentOs, false) with { Model = "gpt-4.1" };

        await _harness.Agno.RunAsync(AgentHarness.Request(endpoint), TestContext.Current.CancellationToken);

        Assert.Null(Assert.Single(_agno.Requests).Model);
    }

    [Fact]
    public async Task Run_AgentApiBareStringWithQuotesAndUnicode_ReturnsDecodedText()
    {
        _agno.Reply = _ => "He said \"hi\" ✓\nnew line";

        var reply = await _harness.Agno.RunAsync(AgentHarness.Request(Endpoint(AgnoShape.AgentApi, false)), TestContext.Current.CancellationToken);

        Assert.Equal("He said \"hi\" ✓\nnew line", reply.Text);
    }

    [Theory]
    [InlineData(AgnoShape.AgentOs)]
    [InlineData(AgnoShape.Playground)]
    public async Task Run_StreamedReplyWithBracesAndQuotes_ReassemblesExactText(AgnoShape shape)
    {
        _agno.Reply = _ => "{\"a\": [1, 2]} } { \\ \" end";
        _agno.ChunkSize = 1;

        var reply = await _harness.Agno.RunAsync(AgentHarness.Request(Endpoint(shape, true)), TestContext.Current.CancellationToken);

        Assert.Equal("{\"a\": [1, 2]} } { \\ \" end", reply.Text);
    }

    [Theory]
    [InlineData(AgnoShape.AgentOs, true, "ModelProviderError")]
    [InlineData(AgnoShape.Playground, true, null)]
    [InlineData(AgnoShape.AgentOs, false, null)]
    public async Task Run_RunError_ThrowsAgentErrorWithoutRetry(AgnoShape shape, bool stream, string? errorType)
    {
        _agno.RunErrorMessage = "model quota exceeded";

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(
            () => _harness.Agno.RunAsync(AgentHarness.Request(Endpoint(shape, stream)), TestContext.Current.CancellationToken));

        Assert.Equal(AgentFailureReason.AgentError, ex.Reason);
        Assert.Equal(1, ex.Attempts);
        Assert.Equal(errorType, ex.AgentErrorType);
        Assert.Contains("model quota exceeded", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, _agno.RequestCount);
    }

    [Theory]
    [InlineData(AgnoShape.AgentApi, true)]
    [InlineData(AgnoShape.AgentOs, false)]
    public async Task Run_ReplyLongerThanGuard_FailsAsInvalidReplyWithoutRetry(AgnoShape shape, bool stream)
    {
        _agno.Reply = _ => new string('x', (1 << 20) + 100);
        _agno.ChunkSize = 64 * 1024;

        var ex = await Assert.ThrowsAsync<AgentCallFailedException>(
            () => _harness.Agno.RunAsync(AgentHarness.Request(Endpoint(shape, stream)), TestContext.Current.CancellationToken));

        Assert.Equal(AgentFailureReason.InvalidReply, ex.Reason);
        Assert.Equal(1, _agno.RequestCount);
    }

    [Fact]
    public async Task Run_NoApiKey_SendsNoAuthorizationHeader()
    {
        var endpoint = new AgentEndpoint(_agno.BaseUrl) { Shape = AgnoShape.AgentOs };

        await _harness.Agno.RunAsync(AgentHarness.Request(endpoint), TestContext.Current.CancellationToken);

        Assert.Null(Assert.Single(_agno.Requests).Authorization);
    }

    [Fact]
    public async Task Run_ExtraHeadersAndAgentIdNeedingEscaping_ReachServer()
    {
        var endpoint = Endpoint(AgnoShape.AgentOs, false) with { Headers = new Dictionary<string, string> { ["X-Tenant"] = "t-9" } };

        var reply = await _harness.Agno.RunAsync(AgentHarness.Request(endpoint, agentId: "sales bot/ru"), TestContext.Current.CancellationToken);

        Assert.Equal("agno:hello world", reply.Text);
        var seen = Assert.Single(_agno.Requests);
        Assert.Equal("sales bot/ru", seen.AgentId);
        Assert.Equal("t-9", seen.Headers["X-Tenant"]);
    }
}

using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Security;
using Messengers.Agents;
using Messengers.Agents.Turns;
using Messengers.Abstractions.Providers;
using Messengers.Host.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using QRCoder;

namespace Messengers.Host.Api;

public sealed record CreateInstanceRequest(
    string? Name,
    string? Provider,
    Dictionary<string, string>? Credentials,
    Dictionary<string, string>? Settings,
    AgentSettings? Agent,
    WebChatSettings? WebChat,
    bool? Start);

public sealed record UpdateInstanceRequest(
    string? Name,
    Dictionary<string, string>? Credentials,
    Dictionary<string, string>? Settings,
    AgentSettings? Agent,
    WebChatSettings? WebChat);

/// <summary>An instance as answered once at creation or key rotation: its fields plus <c>apiKey</c>, never shown again.</summary>
public static class InstanceWithKey
{
    public static System.Text.Json.Nodes.JsonObject Of(InstanceInfo info, string apiKey, System.Text.Json.JsonSerializerOptions options)
    {
        var node = System.Text.Json.JsonSerializer.SerializeToNode(info, options)!.AsObject();
        node["apiKey"] = apiKey;
        return node;
    }
}

public sealed record InstanceList(IReadOnlyList<InstanceInfo> Items, int Total);

public sealed record InstanceStatusView(string Id, InstanceStatus Status, string? StatusReason, DateTimeOffset StatusChangedAt, DesiredState DesiredState);

public sealed record QrView(string Qr, DateTimeOffset ExpiresAt, string Format);

public sealed record PairingCodeRequest(string? PhoneNumber);

/// <summary>A phone pairing code: the user enters <c>Code</c> on the phone of <c>PhoneNumber</c> (Linked devices → Link with phone number).</summary>
public sealed record PairingCodeView(string Code, string PhoneNumber);

/// <summary>The Instance Manager routes: <c>/api/v1/instances</c>.</summary>
public static class InstancesApi
{
    private const int MaxNameLength = 100;
    private const string QrPairing = "qrPairing";
    private const string QrExpiresHeader = "X-QR-Expires-At";

    public static RouteGroupBuilder MapInstancesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/instances").WithTags("Instances");
        api.MapGet("", ListAsync).RequireAdmin();
        api.MapPost("", CreateAsync).RequireAdmin();

        var one = api.MapGroup("/{id}").RequireInstanceAccess();
        one.MapGet("", GetAsync);
        one.MapPatch("", UpdateAsync);
        one.MapDelete("", DeleteAsync);
        one.MapPost("/start", (string id, IGrainFactory grains) => ChangeAsync(id, grains, g => g.StartAsync()));
        one.MapPost("/stop", (string id, IGrainFactory grains) => ChangeAsync(id, grains, g => g.StopAsync()));
        one.MapPost("/restart", (string id, IGrainFactory grains) => ChangeAsync(id, grains, g => g.RestartAsync()));
        one.MapPost("/logout", (string id, IGrainFactory grains) => ChangeAsync(id, grains, g => g.LogoutAsync()));
        one.MapGet("/status", GetStatusAsync);
        one.MapGet("/qr", GetQrAsync);
        one.MapPost("/pairing-code", RequestPairingCodeAsync);
        one.MapPost("/apikey", RotateKeyAsync);
        return api;
    }

    public static async Task<Ok<InstanceList>> ListAsync(IGrainFactory grains)
    {
        var ids = await grains.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).ListAsync();
        var infos = await Task.WhenAll(ids.Select(id => grains.GetGrain<IInstanceGrain>(id).GetAsync()));
        var items = infos.OfType<InstanceInfo>().OrderBy(i => i.CreatedAt).ToList();
        return TypedResults.Ok(new InstanceList(items, items.Count));
    }

    public static async Task<Results<Created<System.Text.Json.Nodes.JsonObject>, ValidationProblem>> CreateAsync(
        CreateInstanceRequest request, IGrainFactory grains, MessengerProviders providers, AgentBackends backends, Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            errors["name"] = ["A name is required."];
        }
        else if (request.Name.Length > MaxNameLength)
        {
            errors["name"] = [$"The name is longer than {MaxNameLength} characters."];
        }

        if (string.IsNullOrWhiteSpace(request.Provider))
        {
            errors["provider"] = [$"A provider is required: one of {string.Join(", ", providers.Names)}."];
        }
        else if (!providers.TryGet(request.Provider, out var provider))
        {
            errors["provider"] = [$"Unknown provider '{request.Provider}': use one of {string.Join(", ", providers.Names)}."];
        }
        else
        {
            foreach (var (field, messages) in provider.Validate(ProviderCredentials(request.Credentials), request.Settings ?? []))
            {
                errors[field] = messages;
            }
        }

        ValidateAgent(request.Agent, backends, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The instance is not valid.");
        }

        var id = Ids.NewInstanceId();
        var key = ApiKeys.NewInstanceKey(id);
        var info = await grains.GetGrain<IInstanceGrain>(id).CreateAsync(new InstanceDefinition
        {
            Name = request.Name!.Trim(),
            Provider = request.Provider!,
            Credentials = request.Credentials ?? [],
            Settings = request.Settings ?? [],
            Agent = request.Agent ?? new AgentSettings(),
            WebChat = request.WebChat,
            Start = request.Start ?? true,
        }, ApiKeys.Hash(key));
        return TypedResults.Created($"/api/v1/instances/{id}", InstanceWithKey.Of(info, key, json.Value.SerializerOptions));
    }

    public static async Task<Results<Ok<InstanceInfo>, ProblemHttpResult>> GetAsync(string id, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        return info is null ? InstanceProblems.NotFound(id) : TypedResults.Ok(info);
    }

    public static async Task<Results<Ok<InstanceInfo>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string id, UpdateInstanceRequest request, IGrainFactory grains, MessengerProviders providers, AgentBackends backends)
    {
        var grain = grains.GetGrain<IInstanceGrain>(id);
        var current = Ids.IsValidInstanceId(id) ? await grain.GetAsync() : null;
        if (current is null)
        {
            return InstanceProblems.NotFound(id);
        }

        var errors = new Dictionary<string, string[]>();
        if (request.Name is not null && (request.Name.Trim().Length == 0 || request.Name.Length > MaxNameLength))
        {
            errors["name"] = [$"The name must have 1 to {MaxNameLength} characters."];
        }

        if (request.Credentials is not null || request.Settings is not null)
        {
            foreach (var (field, messages) in providers.Get(current.Provider).Validate(ProviderCredentials(request.Credentials), request.Settings ?? []))
            {
                errors[field] = messages;
            }
        }

        ValidateAgent(request.Agent, backends, errors);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The change is not valid.");
        }

        return TypedResults.Ok(await grain.UpdateAsync(new InstancePatch
        {
            Name = request.Name?.Trim(),
            Credentials = request.Credentials,
            Settings = request.Settings,
            Agent = request.Agent,
            WebChat = request.WebChat,
        }));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, IGrainFactory grains)
    {
        var grain = grains.GetGrain<IInstanceGrain>(id);
        if (!Ids.IsValidInstanceId(id) || await grain.GetAsync() is null)
        {
            return InstanceProblems.NotFound(id);
        }

        await grain.DeleteAsync();
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<InstanceStatusView>, ProblemHttpResult>> GetStatusAsync(string id, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        return info is null
            ? InstanceProblems.NotFound(id)
            : TypedResults.Ok(new InstanceStatusView(info.Id, info.Status, info.StatusReason, info.StatusChangedAt, info.DesiredState));
    }

    /// <summary>
    /// The current QR code: <c>format</c> = raw (JSON, default), png, svg or dataurl. Every format carries the code's expiry
    /// in <c>X-QR-Expires-At</c> (the JSON ones in <c>expiresAt</c> too) and is not cached: WhatsApp rotates codes.
    /// </summary>
    public static async Task<IResult> GetQrAsync(string id, string? format, IGrainFactory grains, HttpResponse response)
    {
        format = (format ?? "raw").ToLowerInvariant();
        if (format is not ("raw" or "json" or "png" or "svg" or "dataurl"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["format"] = [$"Unknown format '{format}': use raw, png, svg or dataurl."] });
        }

        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        if (info is null)
        {
            return InstanceProblems.NotFound(id);
        }

        if (!info.Capabilities.Contains(QrPairing))
        {
            return MessagesApi.NotSupported(info, "pairing by QR code");
        }

        var qr = await grains.GetGrain<IInstanceGrain>(id).GetQrAsync();
        if (qr is null)
        {
            return info.Status is InstanceStatus.Authenticated or InstanceStatus.Ready
                ? TypedResults.Problem(title: "Already paired", detail: $"Instance '{id}' is paired (status {info.Status}); it has no QR code.", statusCode: StatusCodes.Status409Conflict)
                : TypedResults.Problem(
                    title: "No QR code",
                    detail: $"Instance '{id}' has no valid QR code now (status {info.Status}{(info.StatusReason is null ? "" : $": {info.StatusReason}")}); "
                        + "start it and ask again while its status is QrReady.",
                    statusCode: StatusCodes.Status404NotFound);
        }

        response.Headers.CacheControl = "no-store";
        response.Headers[QrExpiresHeader] = qr.ExpiresAt.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        switch (format)
        {
            case "raw":
            case "json":
                return TypedResults.Ok(new QrView(qr.Code, qr.ExpiresAt, "raw"));
            case "png":
                return TypedResults.File(PngByteQRCodeHelper.GetQRCode(qr.Code, QRCodeGenerator.ECCLevel.M, 8), "image/png");
            case "svg":
                using (var data = QRCodeGenerator.GenerateQrCode(qr.Code, QRCodeGenerator.ECCLevel.M))
                {
                    return TypedResults.Text(new SvgQRCode(data).GetGraphic(8), "image/svg+xml");
                }

            case "dataurl":
                return TypedResults.Ok(new QrView("data:image/png;base64," + Convert.ToBase64String(PngByteQRCodeHelper.GetQRCode(qr.Code, QRCodeGenerator.ECCLevel.M, 8)), qr.ExpiresAt, "dataurl"));
            default:
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["format"] = ["Use raw, png, svg or dataurl."] });
        }
    }

    /// <summary>
    /// Pairing by phone code instead of QR (body <c>{"phoneNumber": "+5511999990000"}</c>): 422 when the provider has no
    /// QR pairing, 409 when the instance is not waiting for pairing.
    /// </summary>
    public static async Task<IResult> RequestPairingCodeAsync(string id, PairingCodeRequest request, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        if (info is null)
        {
            return InstanceProblems.NotFound(id);
        }

        if (!info.Capabilities.Contains(QrPairing))
        {
            return MessagesApi.NotSupported(info, "pairing by phone code");
        }

        if (!PhoneNumbers.TryNormalizeE164(request.PhoneNumber, out var phone))
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["phoneNumber"] = ["phoneNumber must be an international (E.164) number: an optional '+' and 7 to 15 digits, the first not 0, e.g. +5511999990000."] },
                title: "The pairing request is not valid.");
        }

        var code = await grains.GetGrain<IInstanceGrain>(id).RequestPairingCodeAsync(phone);
        return TypedResults.Ok(new PairingCodeView(code, phone));
    }

    public static async Task<Results<Ok<System.Text.Json.Nodes.JsonObject>, ProblemHttpResult>> RotateKeyAsync(
        string id, IGrainFactory grains, Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var grain = grains.GetGrain<IInstanceGrain>(id);
        var info = Ids.IsValidInstanceId(id) ? await grain.GetAsync() : null;
        if (info is null)
        {
            return InstanceProblems.NotFound(id);
        }

        var key = ApiKeys.NewInstanceKey(id);
        await grain.RotateApiKeyAsync(ApiKeys.Hash(key));
        return TypedResults.Ok(InstanceWithKey.Of(info, key, json.Value.SerializerOptions));
    }

    private static async Task<Results<Ok<InstanceInfo>, ProblemHttpResult>> ChangeAsync(string id, IGrainFactory grains, Func<IInstanceGrain, Task<InstanceInfo>> change)
    {
        var grain = grains.GetGrain<IInstanceGrain>(id);
        if (!Ids.IsValidInstanceId(id) || await grain.GetAsync() is null)
        {
            return InstanceProblems.NotFound(id);
        }

        return TypedResults.Ok(await change(grain));
    }

    /// <summary>The credentials the provider checks: the agent's own key (<c>agentApiKey</c>) is any instance's to keep.</summary>
    private static Dictionary<string, string> ProviderCredentials(IReadOnlyDictionary<string, string>? credentials)
        => (credentials ?? new Dictionary<string, string>()).Where(c => c.Key != AgentConfig.ApiKeyCredential).ToDictionary(StringComparer.Ordinal);

    private static void ValidateAgent(AgentSettings? agent, AgentBackends backends, Dictionary<string, string[]> errors)
    {
        if (agent is null)
        {
            return;
        }

        if (!backends.TryGet(agent.Backend, out _))
        {
            errors["agent.backend"] = [$"Unknown agent backend '{agent.Backend}': use one of {string.Join(", ", backends.Names)}."];
        }
        else if (agent.Backend is not "echo" && string.IsNullOrWhiteSpace(agent.BaseUrl))
        {
            errors["agent.baseUrl"] = [$"The '{agent.Backend}' backend needs a baseUrl."];
        }
        else if (agent.Backend is not "redis" && agent.BaseUrl is not null && !Uri.TryCreate(agent.BaseUrl, UriKind.Absolute, out _))
        {
            errors["agent.baseUrl"] = ["The baseUrl must be an absolute http(s) URL."];
        }

        if (agent.TimeoutSeconds is < 1 or > 600)
        {
            errors["agent.timeoutSeconds"] = ["The timeout must be between 1 and 600 seconds."];
        }

        AgentSettingsRules.Validate(agent, errors);
    }
}

/// <summary>Phone numbers as WhatsApp pairing takes them: E.164 digits without the '+'.</summary>
public static class PhoneNumbers
{
    /// <summary>Accepts an optional '+' and 7–15 digits, the first not 0; <paramref name="digits"/> is the number without '+'.</summary>
    public static bool TryNormalizeE164(string? value, out string digits)
    {
        digits = "";
        var text = value?.Trim() ?? "";
        if (text.StartsWith('+'))
        {
            text = text[1..];
        }

        if (text.Length is < 7 or > 15 || text[0] == '0' || !text.All(char.IsAsciiDigit))
        {
            return false;
        }

        digits = text;
        return true;
    }
}

/// <summary>The problem+json 404 for an instance that does not exist.</summary>
public static class InstanceProblems
{
    public static ProblemHttpResult NotFound(string id)
        => TypedResults.Problem(type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not found", detail: $"There is no instance '{id}'.", statusCode: StatusCodes.Status404NotFound);
}

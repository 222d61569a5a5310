using Messengers.Abstractions.Agents;
using System.Globalization;
using Messengers.Abstractions.Instances;
using Messengers.Agents.Turns;
using Messengers.Data.DeadLetters;
using Messengers.Host.Hosting;

namespace Messengers.Host.Api;

/// <summary>A dead letter as the API shows it.</summary>
public sealed record AgentDeadLetterView(
    long Id, string InstanceId, string ChatId, string MessageId, IReadOnlyList<string> MessageIds, string Text, string Backend, string? AgentId,
    string Reason, int? StatusCode, string Error, int Attempts, string Status, DateTimeOffset FailedAt, DateTimeOffset? ResolvedAt,
    IReadOnlyList<AgentDeadLetterMediaView> Media)
{
    public static AgentDeadLetterView Of(AgentDeadLetter d) => new(
        d.Id, d.InstanceId, d.ChatId, d.MessageId, d.MessageIds, d.Text, d.Backend, d.AgentId, d.Reason, d.StatusCode, d.Error, d.Attempts, d.Status, d.FailedAt, d.ResolvedAt,
        [.. d.Media.Select(m => new AgentDeadLetterMediaView(m.MediaId, m.ContentType, m.FileName, m.Size))]);
}

/// <summary>A file of a dead-lettered turn; a retry sends it to the agent again.</summary>
public sealed record AgentDeadLetterMediaView(string MediaId, string ContentType, string? FileName, long Size);

/// <summary>The answer to a retry: whether the agent answered this time, and the dead letter after it.</summary>
public sealed record AgentRetryView(bool Answered, AgentDeadLetterView DeadLetter);

/// <summary>Agent calls given up after their last attempt, under <c>/api/v1/instances/{id}/agent/dead-letters</c>.</summary>
public static class AgentApi
{
    public static RouteGroupBuilder MapAgentApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/instances/{id}/agent/dead-letters").WithTags("Agent").RequireInstanceAccess();
        api.MapGet("/", ListDeadLettersAsync);
        api.MapGet("/{deadLetterId:long}", GetDeadLetterAsync);
        api.MapPost("/{deadLetterId:long}/retry", RetryAsync);
        return api;
    }

    /// <summary>Newest first; <c>status</c> = open or resolved; pass <c>before</c> = the <c>next</c> of the previous page.</summary>
    public static async Task<IResult> ListDeadLettersAsync(string id, string? status, int? limit, long? before, IGrainFactory grains, IAgentDeadLetterStore store)
    {
        var errors = new Dictionary<string, string[]>();
        if (status is not null && !AgentDeadLetterStatus.IsKnown(status))
        {
            errors["status"] = ["Use open or resolved."];
        }

        if (limit is < 1 or > 500)
        {
            errors["limit"] = ["The limit must be between 1 and 500."];
        }

        if (before is < 1)
        {
            errors["before"] = ["Pass the 'next' value of the previous page."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The query is not valid.");
        }

        if (await MissingInstanceAsync(id, grains) is { } missing)
        {
            return missing;
        }

        var pageSize = limit ?? 50;
        var rows = await store.ListAsync(id, status, before, pageSize);
        var next = rows.Count == pageSize ? rows[^1].Id.ToString(CultureInfo.InvariantCulture) : null;
        return TypedResults.Ok(new Page<AgentDeadLetterView>([.. rows.Select(AgentDeadLetterView.Of)], next));
    }

    public static async Task<IResult> GetDeadLetterAsync(string id, long deadLetterId, IGrainFactory grains, IAgentDeadLetterStore store)
    {
        if (await MissingInstanceAsync(id, grains) is { } missing)
        {
            return missing;
        }

        var deadLetter = await store.GetAsync(id, deadLetterId);
        return deadLetter is null ? NotFound(id, deadLetterId) : TypedResults.Ok(AgentDeadLetterView.Of(deadLetter));
    }

    /// <summary>Runs the agent again for the dead letter's messages and sends its reply (once, whatever happened before).</summary>
    public static async Task<IResult> RetryAsync(string id, long deadLetterId, IGrainFactory grains, IAgentDeadLetterStore store, CancellationToken cancellationToken)
    {
        if (await MissingInstanceAsync(id, grains) is { } missing)
        {
            return missing;
        }

        var deadLetter = await store.GetAsync(id, deadLetterId, cancellationToken);
        if (deadLetter is null)
        {
            return NotFound(id, deadLetterId);
        }

        if (deadLetter.Status == AgentDeadLetterStatus.Resolved)
        {
            return TypedResults.Problem(title: "Already answered", detail: $"Dead letter {deadLetterId} was resolved at {deadLetter.ResolvedAt:O}; its reply was sent.", statusCode: StatusCodes.Status409Conflict);
        }

        var agent = (await grains.GetGrain<IInstanceGrain>(id).GetAsync())!.Agent;
        if (!agent.Enabled)
        {
            return TypedResults.Problem(title: "Agent disabled", detail: $"The agent of instance '{id}' is disabled; enable it before retrying.", statusCode: StatusCodes.Status409Conflict);
        }

        var answered = await grains.GetGrain<IChatAgentGrain>(ChatKey.For(id, deadLetter.ChatId)).RetryDeadLetterAsync(deadLetterId);
        var after = await store.GetAsync(id, deadLetterId, cancellationToken) ?? deadLetter;
        return TypedResults.Ok(new AgentRetryView(answered, AgentDeadLetterView.Of(after)));
    }

    private static async Task<IResult?> MissingInstanceAsync(string id, IGrainFactory grains)
    {
        var info = Ids.IsValidInstanceId(id) ? await grains.GetGrain<IInstanceGrain>(id).GetAsync() : null;
        return info is null ? InstanceProblems.NotFound(id) : null;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFound(string id, long deadLetterId)
        => TypedResults.Problem(type: "https://tools.ietf.org/html/rfc9110#section-15.5.5", title: "Not found", detail: $"Instance '{id}' has no agent dead letter {deadLetterId}.", statusCode: StatusCodes.Status404NotFound);
}

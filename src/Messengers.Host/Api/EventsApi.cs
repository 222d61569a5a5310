using System.Text.Json;
using Messengers.Abstractions.Instances;
using Messengers.Host.Hosting;

namespace Messengers.Host.Api;

/// <summary><c>GET /api/v1/events</c>: server-sent <c>instance.status</c> events; admins see all, instance keys their own.</summary>
public static class EventsApi
{
    public static IEndpointConventionBuilder MapEventsApi(this IEndpointRouteBuilder app)
        => app.MapGet("/api/v1/events", StreamAsync).WithTags("Events");

    public static async Task StreamAsync(HttpContext http, LiveFeed feed)
    {
        var caller = await ApiKeyAuth.AuthenticateAsync(http);
        if (caller is null)
        {
            await TypedResults.Problem(title: "Unauthorized", detail: "Send a valid API key as 'Authorization: Bearer <key>'.", statusCode: 401).ExecuteAsync(http);
            return;
        }

        http.StartEventStream();
        var (events, registration) = feed.Listen();
        using (registration)
        {
            await http.Response.WriteAsync(": connected\n\n", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            try
            {
                while (!http.RequestAborted.IsCancellationRequested)
                {
                    using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                    keepAlive.CancelAfter(TimeSpan.FromSeconds(15));
                    try
                    {
                        if (!await events.WaitToReadAsync(keepAlive.Token))
                        {
                            return;
                        }
                    }
                    catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
                    {
                        await http.Response.WriteAsync(": keep-alive\n\n", http.RequestAborted);
                        await http.Response.Body.FlushAsync(http.RequestAborted);
                        continue;
                    }

                    while (events.TryRead(out var info))
                    {
                        if (!caller.MayUse(info.Id))
                        {
                            continue;
                        }

                        var data = JsonSerializer.Serialize(new { instanceId = info.Id, status = info.Status.ToString(), statusReason = info.StatusReason }, JsonSerializerOptions.Web);
                        await http.Response.WriteAsync($"event: instance.status\ndata: {data}\n\n", http.RequestAborted);
                    }

                    await http.Response.Body.FlushAsync(http.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
                // the dashboard closed the stream
            }
        }
    }
}

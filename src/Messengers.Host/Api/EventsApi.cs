using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Messengers.Abstractions.Instances;
using Messengers.Host.Hosting;
using Messengers.Runtime.Catalog;
using Messengers.Runtime.Streams;

namespace Messengers.Host.Api;

/// <summary>
/// The live feed of this silo: a consumer group of its own over the status stream, fanned out to the dashboards
/// connected here. Each silo sees every status change, whichever silo hosts the instance.
/// </summary>
public sealed class LiveFeed(IServiceProvider services, Silo silo) : IHostedService
{
    private readonly ConcurrentDictionary<Guid, Channel<InstanceInfo>> _listeners = new();
    private IStreamSubscription? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var streams = services.GetRequiredKeyedService<IStreamProvider>(StreamNames.DefaultProvider);
        _subscription = await streams.SubscribeAsync<InstanceInfo>(MessageStreams.Status, $"live-{silo.Options.SiloName}", (entry, _) =>
        {
            foreach (var listener in _listeners.Values)
            {
                listener.Writer.TryWrite(entry.Item);
            }

            return Task.CompletedTask;
        }, cancellationToken: cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }

        foreach (var listener in _listeners.Values)
        {
            listener.Writer.TryComplete();
        }
    }

    public (ChannelReader<InstanceInfo> Events, IDisposable Registration) Listen()
    {
        var channel = Channel.CreateBounded<InstanceInfo>(new BoundedChannelOptions(512) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        _listeners[id] = channel;
        return (channel.Reader, new Unregister(() => _listeners.TryRemove(id, out _)));
    }

    private sealed class Unregister(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}

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

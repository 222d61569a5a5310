using Messengers.Abstractions.Agents;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Agents.Turns;
using Messengers.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Messengers.Host.Tests.Infrastructure;

/// <summary>
/// What the chats' agent turns (<see cref="IChatAgentGrain"/>) are doing, seen from outside: an incoming message stays
/// in the message outbox until its chat's turn is done with it (answered, skipped or dead-lettered), and a chat's agent
/// grain counts the messages it still waits on.
/// </summary>
public static class AgentTurnsProbe
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits until no incoming message of the instance waits for its agent turn: none is left in the outbox and none of
    /// <paramref name="chatIds"/> has a pending message. A message accepted by the API is in the outbox already, so this
    /// cannot pass before the turn that takes it is done.
    /// </summary>
    public static Task IdleAsync(MessengersFactory factory, string instanceId, params string[] chatIds)
        => Eventually.UntilAsync(() => WaitingAsync(factory, instanceId, chatIds), n => n == 0, Timeout, $"the agent turns of {instanceId} to be done");

    /// <summary>Messages of these chats that their agent grains hold (queued, debouncing, in a call, waiting for a retry).</summary>
    public static async Task<int> PendingAsync(MessengersFactory factory, string instanceId, IEnumerable<string> chatIds)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(chatIds);
        var grains = factory.Services.GetRequiredService<IGrainFactory>();
        var pending = 0;
        foreach (var chatId in chatIds)
        {
            pending += await grains.GetGrain<IChatAgentGrain>(ChatKey.For(instanceId, chatId)).GetPendingCountAsync();
        }

        return pending;
    }

    /// <summary>Agent calls of this host that failed since it started (each retried or dead-lettered).</summary>
    public static long FailedCalls(MessengersFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return factory.Services.GetRequiredService<AgentCallLimiter>().FailedCalls;
    }

    /// <summary>Stored incoming messages of the instance still in the outbox, plus the chats' pending messages.</summary>
    private static async Task<int> WaitingAsync(MessengersFactory factory, string instanceId, string[] chatIds)
    {
        var store = factory.Services.GetRequiredService<IMessageStore>();
        var waiting = 0;
        var position = 0L;
        while (true)
        {
            var page = await store.GetOutboxPageAsync(position, 500, Api.Ct);
            waiting += page.Count(m => m.Message.InstanceId == instanceId);
            if (page.Count < 500)
            {
                break;
            }

            position = page[^1].Position;
        }

        return waiting + await PendingAsync(factory, instanceId, chatIds);
    }
}

using Messengers.Abstractions;
using Messengers.Abstractions.Instances;
using Messengers.Abstractions.Messages;
using Messengers.Abstractions.Providers;
using Messengers.Abstractions.Security;
using Messengers.Data.Messages;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace Messengers.Grains.Instances;

[GenerateSerializer, Alias("messengers.InstanceState")]
public sealed class InstanceState
{
    [Id(0)] public string Name { get; set; } = "";
    [Id(1)] public string Provider { get; set; } = "";
    [Id(2)] public Dictionary<string, string> ProtectedCredentials { get; set; } = [];
    [Id(3)] public Dictionary<string, string> Settings { get; set; } = [];
    [Id(4)] public AgentSettings Agent { get; set; } = new();
    [Id(5)] public WebChatSettings? WebChat { get; set; }
    [Id(6)] public DesiredState DesiredState { get; set; }
    [Id(7)] public InstanceStatus Status { get; set; }
    [Id(8)] public string? StatusReason { get; set; }
    [Id(9)] public DateTimeOffset CreatedAt { get; set; }
    [Id(10)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(11)] public DateTimeOffset StatusChangedAt { get; set; }
    [Id(12)] public List<string> ApiKeyHashes { get; set; } = [];
    [Id(13)] public AccountInfo? Account { get; set; }
    [Id(14)] public QrCodeInfo? Qr { get; set; }
    [Id(15)] public long MessagesIn { get; set; }
    [Id(16)] public long MessagesOut { get; set; }
}

/// <summary>
/// One instance: its configuration (credentials encrypted), desired state, observed status and keys.
/// Status reports from the connection interleave with owner requests, so state writes are chained.
/// While the desired state is Running a reminder re-asserts the connection, so an instance whose connection was lost
/// with its silo comes back on another one.
/// </summary>
public sealed class InstanceGrain(
    [PersistentState(InstanceGrain.StateName, StorageNames.Grains)] IPersistentState<InstanceState> state,
    MessengerProviders providers,
    ISecretProtector secrets,
    IMessageStore messages,
    IMediaStore media,
    TimeProvider time,
    ILogger<InstanceGrain> logger) : Grain, IInstanceGrain, IRemindable
{
    public const string StateName = "instance";

    /// <summary>Re-asserts the connection of a running instance (the minimum reminder period).</summary>
    public const string KeepConnectedReminder = "keep-connected";

    private static readonly TimeSpan CounterFlushDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan KeepConnectedPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MoveRetryDelay = TimeSpan.FromMilliseconds(200);
    private const int MoveAttempts = 50; // 10 s: a loaded silo may take seconds to finish deactivating the old one

    private readonly WriteChain _writes = new();
    private bool _countersDirty;
    private IGrainTimer? _counterFlush;

    // Derived from the state and asked for with every agent turn: kept until the credentials, settings or agent
    // change, so credentials are not decrypted once per message.
    private ConnectionConfig? _connectionConfig;
    private AgentConfig? _agentConfig;
    private IReadOnlyList<string>? _credentialNames;

    private string Id => this.GetPrimaryKeyString();

    private IProviderClientGrain Client => GrainFactory.GetGrain<IProviderClientGrain>(Id);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Armed only while counters wait to be written: an idle instance runs no timer at all (1,000 idle instances
        // would otherwise tick 200 times a second for nothing).
        _counterFlush = this.RegisterGrainTimer(FlushCountersAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = false });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _counterFlush?.Dispose();
        await FlushCountersAsync(cancellationToken);
        await _writes.Last; // a flush started by the timer may still be in flight; the activation must not end before it
    }

    public async Task<InstanceInfo> CreateAsync(InstanceDefinition definition, string apiKeyHash)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (state.RecordExists)
        {
            throw new InstanceExistsException($"Instance '{Id}' exists already.");
        }

        var provider = providers.Get(definition.Provider);
        var now = time.GetUtcNow();
        var s = state.State;
        s.Name = definition.Name;
        s.Provider = provider.Name;
        s.ProtectedCredentials = definition.Credentials.ToDictionary(c => c.Key, c => secrets.Protect(c.Value));
        s.Settings = new Dictionary<string, string>(definition.Settings);
        s.Agent = definition.Agent;
        ForgetDerived();
        s.WebChat = provider.Name == "webchat" ? definition.WebChat ?? new WebChatSettings() : definition.WebChat;
        s.DesiredState = DesiredState.Stopped;
        s.Status = InstanceStatus.Created;
        s.CreatedAt = s.UpdatedAt = s.StatusChangedAt = now;
        s.ApiKeyHashes = [apiKeyHash];
        await SaveAsync();
        await GrainFactory.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).AddAsync(Id);
        logger.LogInformation("Instance {InstanceId} created with provider {Provider}", Id, s.Provider);
        return definition.Start ? await StartAsync() : Describe();
    }

    public Task<InstanceInfo?> GetAsync() => Task.FromResult(state.RecordExists ? Describe() : null);

    public async Task<InstanceInfo> UpdateAsync(InstancePatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        EnsureExists();
        var s = state.State;
        if (patch.Name is not null)
        {
            s.Name = patch.Name;
        }

        if (patch.Credentials is not null)
        {
            s.ProtectedCredentials = patch.Credentials.ToDictionary(c => c.Key, c => secrets.Protect(c.Value));
        }

        if (patch.Settings is not null)
        {
            s.Settings = new Dictionary<string, string>(patch.Settings);
        }

        if (patch.Agent is not null)
        {
            s.Agent = patch.Agent;
        }

        if (patch.WebChat is not null)
        {
            s.WebChat = patch.WebChat;
        }

        s.UpdatedAt = time.GetUtcNow();
        ForgetDerived();
        await SaveAsync();
        return Describe();
    }

    public async Task DeleteAsync()
    {
        EnsureExists();
        await Client.StopAsync();
        await StopKeepingConnectedAsync();
        await GrainFactory.GetGrain<IInstanceRegistryGrain>(IInstanceRegistryGrain.Key).RemoveAsync(Id);
        await providers.Get(state.State.Provider).ForgetInstanceAsync(Id, CancellationToken.None);
        await messages.DeleteInstanceAsync(Id);
        await media.DeleteInstanceAsync(Id);
        await _writes.Last;
        await state.ClearStateAsync();
        ForgetDerived();
        logger.LogInformation("Instance {InstanceId} deleted", Id);
        this.DeactivateOnIdle();
    }

    public async Task<InstanceInfo> StartAsync()
    {
        EnsureExists();
        state.State.DesiredState = DesiredState.Running;
        SetStatus(InstanceStatus.Starting, null);
        await SaveAsync();
        await PublishStatusAsync();
        await this.RegisterOrUpdateReminder(KeepConnectedReminder, KeepConnectedPeriod, KeepConnectedPeriod);
        await StartClientAsync();
        return Describe();
    }

    public async Task<InstanceInfo> StopAsync()
    {
        EnsureExists();
        state.State.DesiredState = DesiredState.Stopped;
        await Client.StopAsync();
        await StopKeepingConnectedAsync();
        SetStatus(InstanceStatus.Stopped, null);
        state.State.Qr = null;
        await SaveAsync();
        await PublishStatusAsync();
        return Describe();
    }

    public async Task<InstanceInfo> RestartAsync()
    {
        await StopAsync();
        return await StartAsync();
    }

    public async Task<InstanceInfo> LogoutAsync()
    {
        EnsureExists();
        state.State.DesiredState = DesiredState.Stopped;
        await Client.LogoutAsync();
        await StopKeepingConnectedAsync();
        SetStatus(InstanceStatus.Stopped, "logged out");
        state.State.Qr = null;
        state.State.Account = null;
        await SaveAsync();
        await PublishStatusAsync();
        return Describe();
    }

    public async Task ResumeAsync()
    {
        if (state.RecordExists && state.State.DesiredState == DesiredState.Running && !await Client.IsConnectedAsync())
        {
            logger.LogInformation("Resuming instance {InstanceId}", Id);
            await StartAsync();
        }
    }

    public async Task MoveConnectionAsync()
    {
        if (!state.RecordExists || state.State.DesiredState != DesiredState.Running)
        {
            return;
        }

        logger.LogInformation("Moving the connection of instance {InstanceId}", Id);
        await Client.StopAsync(); // closed before it opens elsewhere: never two drivers of one account
        await StartClientAsync();
    }

    /// <summary>
    /// Opens the connection. A connection grain activation on a silo that is stopping refuses (and goes away), so the
    /// call is tried again until it reaches a new activation on another silo.
    /// </summary>
    private async Task StartClientAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Client.StartAsync(ConnectionConfig());
                return;
            }
            catch (InstanceNotReadyException) when (attempt < MoveAttempts)
            {
                await Task.Delay(MoveRetryDelay, time);
            }
        }
    }

    public Task<string?> GetProviderAsync() => Task.FromResult(state.RecordExists ? state.State.Provider : null);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != KeepConnectedReminder)
        {
            return;
        }

        if (!state.RecordExists || state.State.DesiredState != DesiredState.Running)
        {
            await StopKeepingConnectedAsync(); // left over from a stop that did not get to unregister it
            return;
        }

        await ResumeAsync();
    }

    public Task<bool> VerifyApiKeyAsync(string apiKeyHash)
        => Task.FromResult(state.RecordExists && state.State.ApiKeyHashes.Any(h => ApiKeys.HashEquals(h, apiKeyHash)));

    public async Task RotateApiKeyAsync(string apiKeyHash)
    {
        EnsureExists();
        state.State.ApiKeyHashes = [apiKeyHash];
        state.State.UpdatedAt = time.GetUtcNow();
        await SaveAsync();
    }

    public Task<QrCodeInfo?> GetQrAsync()
    {
        var qr = state.State.Qr;
        return Task.FromResult(qr is not null && qr.ExpiresAt > time.GetUtcNow() ? qr : null);
    }

    public async Task<string> RequestPairingCodeAsync(string phoneNumber)
    {
        EnsureExists();
        if (!providers.TryGet(state.State.Provider, out var provider) || !provider.Capabilities.HasFlag(ProviderCapabilities.QrPairing))
        {
            throw new CapabilityNotSupportedException($"Provider '{state.State.Provider}' does not pair with a phone; it has no pairing code.");
        }

        if (state.State.DesiredState != DesiredState.Running || state.State.Status is not (InstanceStatus.Starting or InstanceStatus.QrReady))
        {
            throw new InstanceNotReadyException($"Instance '{Id}' is not waiting for pairing (status {state.State.Status}): "
                + (state.State.Status is InstanceStatus.Authenticated or InstanceStatus.Ready ? "it is paired already." : "start it and wait for status QrReady."));
        }

        var code = await Client.ExecuteAsync(new ProviderCommands.RequestPairingCode(phoneNumber));
        logger.LogInformation("Instance {InstanceId} issued a phone pairing code", Id);
        return code;
    }

    public Task<AgentConfig> GetAgentConfigAsync()
    {
        EnsureExists();
        return Task.FromResult(_agentConfig ??= new AgentConfig(
            Id,
            state.State.Provider,
            state.State.Agent,
            state.State.ProtectedCredentials.TryGetValue(AgentConfig.ApiKeyCredential, out var key) ? secrets.Unprotect(key) : null));
    }

    public async Task ReportStatusAsync(InstanceStatus status, string? reason, AccountInfo? account)
    {
        if (!state.RecordExists)
        {
            return;
        }

        if (status == state.State.Status && reason == state.State.StatusReason && (account is null || account == state.State.Account))
        {
            return;
        }

        SetStatus(status, reason);
        if (account is not null)
        {
            state.State.Account = account;
        }

        if (status is InstanceStatus.Ready or InstanceStatus.Authenticated or InstanceStatus.Failed or InstanceStatus.Stopped)
        {
            state.State.Qr = null;
        }

        await SaveAsync();
        await PublishStatusAsync();
    }

    public async Task ReportQrAsync(QrCodeInfo? qr)
    {
        if (!state.RecordExists)
        {
            return;
        }

        state.State.Qr = qr;
        if (qr is not null)
        {
            SetStatus(InstanceStatus.QrReady, null);
        }

        await SaveAsync();
        await PublishStatusAsync();
    }

    public Task CountMessagesAsync(int received, int sent)
    {
        state.State.MessagesIn += received;
        state.State.MessagesOut += sent;

        if (!_countersDirty)
        {
            _countersDirty = true;
            _counterFlush?.Change(CounterFlushDelay, Timeout.InfiniteTimeSpan);
        }

        return Task.CompletedTask;
    }

    private async Task FlushCountersAsync(CancellationToken cancellationToken)
    {
        if (_countersDirty && state.RecordExists)
        {
            _countersDirty = false;
            await SaveAsync();
        }
    }

    private void SetStatus(InstanceStatus status, string? reason)
    {
        if (status != state.State.Status || reason != state.State.StatusReason)
        {
            state.State.StatusChangedAt = time.GetUtcNow();
        }

        state.State.Status = status;
        state.State.StatusReason = reason;
        if (status != InstanceStatus.Failed && status != InstanceStatus.Disconnected && reason is null)
        {
            state.State.StatusReason = null;
        }

        if (status is InstanceStatus.Failed)
        {
            logger.LogWarning("Instance {InstanceId} failed: {Reason}", Id, reason);
        }
    }

    /// <summary>Status reports interleave with owner requests: writes go one after another.</summary>
    private Task SaveAsync() => _writes.Then(() => state.WriteStateAsync());

    private async Task PublishStatusAsync()
        => await this.GetStreamProvider(MessageStreams.Provider).GetStream<InstanceInfo>(StreamId.Create(MessageStreams.Status, Id)).OnNextAsync(Describe());

    private async Task StopKeepingConnectedAsync()
    {
        if (await this.GetReminder(KeepConnectedReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private void EnsureExists()
    {
        if (!state.RecordExists)
        {
            throw new InstanceNotFoundException($"Instance '{Id}' does not exist.");
        }
    }

    private void ForgetDerived()
    {
        _connectionConfig = null;
        _agentConfig = null;
        _credentialNames = null;
    }

    private ConnectionConfig ConnectionConfig() => _connectionConfig ??= new(Id, state.State.Provider,
            state.State.ProtectedCredentials.ToDictionary(c => c.Key, c => secrets.Unprotect(c.Value)),
            state.State.Settings,
            state.State.Agent);

    private InstanceInfo Describe()
    {
        var s = state.State;
        providers.TryGet(s.Provider, out var provider);
        return new InstanceInfo
        {
            Id = Id,
            Name = s.Name,
            Provider = s.Provider,
            Status = s.Status,
            StatusReason = s.StatusReason,
            DesiredState = s.DesiredState,
            CreatedAt = s.CreatedAt,
            UpdatedAt = s.UpdatedAt,
            StatusChangedAt = s.StatusChangedAt,
            Agent = s.Agent,
            Capabilities = provider is null ? [] : ProviderCapabilityNames.Of(provider.Capabilities),
            Counters = new InstanceCounters(s.MessagesIn, s.MessagesOut),
            Account = s.Account,
            WebChat = s.WebChat,
            CredentialNames = _credentialNames ??= [.. s.ProtectedCredentials.Keys.Order(StringComparer.Ordinal)],
        };
    }
}

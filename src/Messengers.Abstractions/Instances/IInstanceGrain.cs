using Orleans;
using Orleans.Concurrency;

namespace Messengers.Abstractions.Instances;

/// <summary>One instance: configuration, desired state, observed status, QR code, keys and counters. Key: instance id.</summary>
public interface IInstanceGrain : IGrainWithStringKey
{
    /// <summary>Creates the instance with the hash of its first API key. Fails when it exists.</summary>
    Task<InstanceInfo> CreateAsync(InstanceDefinition definition, string apiKeyHash);

    [ReadOnly]
    Task<InstanceInfo?> GetAsync();

    Task<InstanceInfo> UpdateAsync(InstancePatch patch);

    Task DeleteAsync();

    Task<InstanceInfo> StartAsync();

    Task<InstanceInfo> StopAsync();

    Task<InstanceInfo> RestartAsync();

    Task<InstanceInfo> LogoutAsync();

    /// <summary>Called at silo start (and by the instance's reminder): starts the connection again when the instance should run and it is not connected.</summary>
    Task ResumeAsync();

    /// <summary>
    /// Closes the connection where it is and opens it again wherever placement puts it now: what a stopping silo asks
    /// of the instances it holds. Does nothing for an instance that should not run.
    /// </summary>
    Task MoveConnectionAsync();

    /// <summary>The provider's name, or null for an unknown instance; asked by placement while the grain may be busy.</summary>
    [AlwaysInterleave]
    Task<string?> GetProviderAsync();

    [ReadOnly]
    Task<bool> VerifyApiKeyAsync(string apiKeyHash);

    Task RotateApiKeyAsync(string apiKeyHash);

    [ReadOnly]
    Task<QrCodeInfo?> GetQrAsync();

    /// <summary>
    /// Pairing by phone code instead of QR: the code the user types on the phone whose number is
    /// <paramref name="phoneNumber"/> (international, digits only). Fails when the provider has no QR pairing or the
    /// instance is not waiting for pairing (not running, or already paired).
    /// </summary>
    Task<string> RequestPairingCodeAsync(string phoneNumber);

    /// <summary>
    /// What the instance's agent needs: its settings and the agent's own key (credential <c>agentApiKey</c>). The
    /// provider's credentials never leave this grain and the instance's ProviderClientGrain.
    /// </summary>
    [ReadOnly]
    Task<AgentConfig> GetAgentConfigAsync();

    /// <summary>Reported by the provider connection.</summary>
    [AlwaysInterleave]
    Task ReportStatusAsync(InstanceStatus status, string? reason, AccountInfo? account);

    [AlwaysInterleave]
    Task ReportQrAsync(QrCodeInfo? qr);

    /// <summary>Adds stored messages to the counters (summed per silo, off the message path).</summary>
    [AlwaysInterleave]
    Task CountMessagesAsync(int received, int sent);
}

using Messengers.Runtime;

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

    /// <summary>Called at silo start: starts the connection again when the instance should run.</summary>
    Task ResumeAsync();

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

    /// <summary>The decrypted configuration for the provider connection.</summary>
    [ReadOnly]
    Task<ConnectionConfig> GetConnectionConfigAsync();

    /// <summary>Reported by the provider connection.</summary>
    [AlwaysInterleave]
    Task ReportStatusAsync(InstanceStatus status, string? reason, AccountInfo? account);

    [AlwaysInterleave]
    Task ReportQrAsync(QrCodeInfo? qr);

    [AlwaysInterleave]
    Task CountMessageAsync(bool outgoing);
}

/// <summary>The list of all instance ids (key "all"), for listing and for resuming at start-up.</summary>
public interface IInstanceRegistryGrain : IGrainWithStringKey
{
    Task AddAsync(string instanceId);

    Task RemoveAsync(string instanceId);

    [ReadOnly]
    Task<IReadOnlyList<string>> ListAsync();
}

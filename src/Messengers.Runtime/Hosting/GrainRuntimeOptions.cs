namespace Messengers.Runtime.Hosting;

/// <summary>Options of the grain runtime (configuration section <c>Messengers:Runtime</c> in the host).</summary>
public sealed class GrainRuntimeOptions
{
    /// <summary>The name of this silo in logs and, later, in cluster membership.</summary>
    public string SiloName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Activations idle longer than this are deactivated (Orleans' CollectionAge).</summary>
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle activations are looked for.</summary>
    public TimeSpan CollectionQuantum { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A call not answered within this time fails with <see cref="GrainCallTimeoutException"/> (Orleans' ResponseTimeout).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long OnDeactivateAsync may run before the activation is dropped anyway.</summary>
    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Round-trip every local call's arguments and result through System.Text.Json, as a remote call would.
    /// Tests turn it on to prove grain interfaces are ready for clustering; off by default for speed.
    /// </summary>
    public bool SerializeLocalCalls { get; set; }
}

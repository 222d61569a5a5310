using Microsoft.Extensions.Logging;

namespace Messengers.Runtime.Catalog;

internal static partial class RuntimeLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "A turn of {GrainId} threw outside any request")]
    public static partial void TurnFailed(ILogger logger, Exception exception, GrainId grainId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Activation of {GrainId} failed")]
    public static partial void ActivationFailed(ILogger logger, Exception exception, GrainId grainId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deactivation of {GrainId} ({Reason}) failed")]
    public static partial void DeactivationFailed(ILogger logger, Exception exception, GrainId grainId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer of {GrainId} threw")]
    public static partial void TimerFailed(ILogger logger, Exception exception, GrainId grainId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Collected {Count} idle activations")]
    public static partial void CollectedIdle(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {SiloName} started with {GrainClasses} grain classes")]
    public static partial void SiloStarted(ILogger logger, string siloName, int grainClasses);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {SiloName} stopping: deactivating {Count} activations")]
    public static partial void SiloStopping(ILogger logger, string siloName, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {SiloName} stopped with {Count} activations still busy after the deactivation timeout")]
    public static partial void ShutdownIncomplete(ILogger logger, string siloName, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Housekeeping of silo {SiloName} failed")]
    public static partial void HousekeepingFailed(ILogger logger, Exception exception, string siloName);
}

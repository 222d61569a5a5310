namespace Messengers.Runtime;

/// <summary>A call chain came back to a non-reentrant activation that is waiting on it; it would never complete.</summary>
public sealed class DeadlockException : Exception
{
    public DeadlockException() { }
    public DeadlockException(string message) : base(message) { }
    public DeadlockException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A grain call did not complete within <see cref="Hosting.GrainRuntimeOptions.CallTimeout"/>.</summary>
public sealed class GrainCallTimeoutException : TimeoutException
{
    public GrainCallTimeoutException() { }
    public GrainCallTimeoutException(string message) : base(message) { }
    public GrainCallTimeoutException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A grain reference named an interface that no registered grain class implements, or activation failed.</summary>
public sealed class GrainActivationException : Exception
{
    public GrainActivationException() { }
    public GrainActivationException(string message) : base(message) { }
    public GrainActivationException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The silo is shutting down and takes no new calls.</summary>
public sealed class SiloUnavailableException : Exception
{
    public SiloUnavailableException() { }
    public SiloUnavailableException(string message) : base(message) { }
    public SiloUnavailableException(string message, Exception inner) : base(message, inner) { }
}

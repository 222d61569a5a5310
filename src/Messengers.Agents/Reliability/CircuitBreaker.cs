namespace Messengers.Agents.Reliability;

/// <summary>
/// A consecutive-failure circuit breaker for one agent endpoint. Closed: calls pass, failures are counted. Open:
/// calls fail fast until the break ends. Half-open: one probe call passes; its success closes the circuit, its
/// failure opens it again for another break.
/// </summary>
internal sealed class CircuitBreaker(int threshold, TimeSpan breakDuration, TimeProvider time)
{
    private readonly Lock _lock = new();
    private CircuitState _state = CircuitState.Closed;
    private int _failures;
    private DateTimeOffset _openUntil;
    private bool _probeInFlight;

    public CircuitState State
    {
        get
        {
            lock (_lock)
            {
                return _state == CircuitState.Open && time.GetUtcNow() >= _openUntil ? CircuitState.HalfOpen : _state;
            }
        }
    }

    /// <summary>Asks to make an attempt. False means fail fast; <paramref name="retryAt"/> says when a probe may pass.</summary>
    public bool TryEnter(out DateTimeOffset retryAt, out bool isProbe)
    {
        lock (_lock)
        {
            retryAt = _openUntil;
            isProbe = false;
            switch (_state)
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.Open when time.GetUtcNow() >= _openUntil:
                    _state = CircuitState.HalfOpen;
                    _probeInFlight = true;
                    isProbe = true;
                    return true;
                case CircuitState.HalfOpen when !_probeInFlight:
                    _probeInFlight = true;
                    isProbe = true;
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>The endpoint answered (even with a non-transient error): it is alive.</summary>
    public void OnSuccess()
    {
        lock (_lock)
        {
            _state = CircuitState.Closed;
            _failures = 0;
            _probeInFlight = false;
        }
    }

    /// <summary>A transient failure. Returns true when this failure opened the circuit.</summary>
    public bool OnFailure()
    {
        lock (_lock)
        {
            _probeInFlight = false;
            if (_state == CircuitState.HalfOpen || ++_failures >= threshold)
            {
                var opened = _state != CircuitState.Open;
                _state = CircuitState.Open;
                _openUntil = time.GetUtcNow() + breakDuration;
                return opened;
            }

            return false;
        }
    }

    /// <summary>The caller cancelled a probe: let the next call probe instead.</summary>
    public void OnAbandoned(bool wasProbe)
    {
        if (!wasProbe)
        {
            return;
        }

        lock (_lock)
        {
            _probeInFlight = false;
        }
    }
}

internal enum CircuitState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>One <see cref="CircuitBreaker"/> per backend + endpoint base URL + agent id.</summary>
internal sealed class AgentCircuitBreakers(Microsoft.Extensions.Options.IOptions<AgentBackendOptions> options, TimeProvider time)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CircuitBreaker> _breakers = new(StringComparer.Ordinal);

    public CircuitBreaker For(string backend, AgentRequest request) =>
        _breakers.GetOrAdd(
            Key(backend, request),
            static (_, s) => new CircuitBreaker(s.Options.CircuitFailureThreshold, s.Options.CircuitBreakDuration, s.Time),
            (Options: options.Value, Time: time));

    public static string Key(string backend, AgentRequest request) =>
        $"{backend}|{request.Endpoint.BaseUrl.TrimEnd('/')}|{request.AgentId}";
}

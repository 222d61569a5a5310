using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messengers.Agents.Reliability;

/// <summary>
/// Runs one agent call as a series of attempts: a timeout per attempt, retries with exponential backoff and jitter
/// on transient failures (5xx, 408, 429 with <c>Retry-After</c>, timeouts, connection errors), and the endpoint's
/// circuit breaker around every attempt. Ends with a reply or an <see cref="AgentCallFailedException"/>.
/// </summary>
internal sealed class AgentCallRunner(
    IOptions<AgentBackendOptions> options,
    AgentCircuitBreakers breakers,
    TimeProvider time,
    ILogger<AgentCallRunner> logger)
{
    private readonly AgentBackendOptions _options = options.Value;

    public async Task<AgentReply> RunAsync(
        string backend,
        AgentRequest request,
        Func<CancellationToken, Task<AgentReply>> attempt,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var endpoint = SafeUrl.Redact(request.Endpoint.BaseUrl);
        var timeout = request.Endpoint.Timeout is { } t && t > TimeSpan.Zero ? t : _options.DefaultTimeout;
        var breaker = breakers.For(backend, request);
        Failure? last = null;

        for (var n = 1; n <= _options.MaxAttempts; n++)
        {
            if (!breaker.TryEnter(out var retryAt, out var isProbe))
            {
                throw CircuitOpen(backend, request, endpoint, n - 1, last, retryAt);
            }

            using var timeoutCts = new CancellationTokenSource(timeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
            try
            {
                var reply = await attempt(linked.Token);
                breaker.OnSuccess();
                if (n > 1)
                {
                    logger.AnsweredAfterRetry(backend, request.AgentId, endpoint, n);
                }

                return reply;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                breaker.OnAbandoned(isProbe);
                throw;
            }
            catch (OperationCanceledException ex) when (timeoutCts.IsCancellationRequested)
            {
                last = new Failure(AgentFailureReason.Timeout, null, $"no complete reply within {Seconds(timeout)}", true, null, null, ex);
            }
            catch (AgentAttemptException ex)
            {
                last = new Failure(ex.Reason, ex.StatusCode, ex.Message, ex.IsTransient, ex.RetryAfter, ex.AgentErrorType, ex);
            }
            catch (HttpRequestException ex) when (ex.StatusCode is null)
            {
                last = new Failure(AgentFailureReason.ConnectionFailed, null, ConnectionDetail(ex), true, null, null, ex);
            }
            catch (IOException ex)
            {
                last = new Failure(AgentFailureReason.ConnectionFailed, null, "the connection broke while reading the reply: " + ex.Message, true, null, null, ex);
            }
            catch (Exception)
            {
                // Not a failure this runner understands (a bug, most likely): do not leave a probe slot taken.
                breaker.OnAbandoned(isProbe);
                throw;
            }

            if (!last.Transient)
            {
                if (last.Reason == AgentFailureReason.Misconfigured)
                {
                    // Nothing was sent: says nothing about the endpoint's health.
                    breaker.OnAbandoned(isProbe);
                }
                else
                {
                    // The endpoint answered: it is alive, whatever it said.
                    breaker.OnSuccess();
                }

                throw Failed(backend, request, endpoint, n, last);
            }

            if (breaker.OnFailure())
            {
                logger.CircuitOpened(backend, request.AgentId, endpoint, _options.CircuitBreakDuration, _options.CircuitFailureThreshold);
            }

            if (n == _options.MaxAttempts)
            {
                throw Failed(backend, request, endpoint, n, last);
            }

            TimeSpan delay;
            if (RetryDelays.FromRetryAfter(last.RetryAfter, time.GetUtcNow()) is { } asked)
            {
                if (asked > _options.MaxRetryDelay)
                {
                    throw Failed(backend, request, endpoint, n, last with
                    {
                        Detail = $"{last.Detail}; the agent asked to retry after {Seconds(asked)}, longer than the {Seconds(_options.MaxRetryDelay)} a call may wait",
                    });
                }

                delay = asked;
            }
            else
            {
#pragma warning disable CA5394 // jitter needs no cryptographic randomness
                delay = RetryDelays.Backoff(n, _options.BaseRetryDelay, _options.MaxRetryDelay, Random.Shared.NextDouble());
#pragma warning restore CA5394
            }

            logger.AttemptFailed(backend, request.AgentId, endpoint, n, _options.MaxAttempts, last.Reason, last.StatusCode, delay);
            await Task.Delay(delay, time, ct);
        }

        throw new InvalidOperationException("unreachable: the attempt loop always returns or throws");
    }

    private AgentCallFailedException Failed(string backend, AgentRequest request, string endpoint, int attempts, Failure failure)
    {
        var message = string.Create(
            CultureInfo.InvariantCulture,
            $"{Describe(backend, request, endpoint)} failed after {attempts} attempt(s): {failure.Detail}. {Advice(backend, failure)}");
        logger.CallFailed(backend, request.AgentId, endpoint, attempts, failure.Reason, failure.StatusCode);
        return new AgentCallFailedException(backend, request.AgentId, endpoint, failure.Reason, attempts, failure.StatusCode, message, failure.Exception)
        {
            AgentErrorType = failure.AgentErrorType,
        };
    }

    private AgentCallFailedException CircuitOpen(string backend, AgentRequest request, string endpoint, int attempts, Failure? last, DateTimeOffset retryAt)
    {
        var lastDetail = last is null ? "" : $" (last: {last.Detail})";
        var message = string.Create(
            CultureInfo.InvariantCulture,
            $"{Describe(backend, request, endpoint)} was not called: its circuit is open after {_options.CircuitFailureThreshold} consecutive failures{lastDetail}. A probe call will be let through after {retryAt:O}. Check that the agent is running and reachable at {endpoint}.");
        logger.CircuitOpenFailFast(backend, request.AgentId, endpoint, retryAt);
        return new AgentCallFailedException(backend, request.AgentId, endpoint, AgentFailureReason.CircuitOpen, attempts, last?.StatusCode, message)
        {
            RetryAt = retryAt,
        };
    }

    private static string Describe(string backend, AgentRequest request, string endpoint) =>
        $"Agent '{request.AgentId}' ({backend}) at {endpoint}";

    private static string Advice(string backend, Failure failure) => failure.Reason switch
    {
        AgentFailureReason.Timeout => "Raise the endpoint's timeout if the agent needs longer, or check why it is slow.",
        AgentFailureReason.ConnectionFailed => "Check that the agent server is running and that the base URL (host, port, scheme) is right.",
        AgentFailureReason.AgentError => "The agent itself reported the error: check its logs and its model/tool configuration.",
        AgentFailureReason.InvalidReply => backend == "agno"
            ? "Check that the endpoint's Agno shape (AgentOs, Playground, AgentApi) matches the server."
            : "Check that the endpoint speaks the protocol of this backend.",
        AgentFailureReason.Misconfigured => "Fix the agent endpoint configuration.",
        _ => failure.StatusCode switch
        {
            401 or 403 => "Check the endpoint's API key.",
            404 => backend == "agno"
                ? "Check the agent id, the base URL and the Agno shape (AgentOs uses /agents/…, Playground /v1/playground/agents/…, AgentApi /v1/agents/…)."
                : "Check the base URL and the agent id.",
            400 or 415 or 422 => backend == "agno"
                ? "The agent rejected the request: check that the endpoint's Agno shape matches the server."
                : "The agent rejected the request: check the endpoint configuration (model, URL).",
            408 or 429 => "The agent is overloaded or rate-limited: lower the message rate or raise its limits.",
            >= 500 => "The agent server failed: check its logs.",
            _ => "Check the agent endpoint configuration.",
        },
    };

    private static string ConnectionDetail(HttpRequestException ex)
    {
        var socket = ex.InnerException as SocketException ?? ex.InnerException?.InnerException as SocketException;
        return socket is null
            ? "the connection failed: " + ex.Message
            : $"the connection failed ({socket.SocketErrorCode})";
    }

    private static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s");

    private sealed record Failure(
        AgentFailureReason Reason,
        int? StatusCode,
        string Detail,
        bool Transient,
        System.Net.Http.Headers.RetryConditionHeaderValue? RetryAfter,
        string? AgentErrorType,
        Exception? Exception);
}

using Messengers.Abstractions.Instances;
using Microsoft.Extensions.Logging;

namespace Messengers.Providers.WhatsAppWeb;

/// <summary>
/// The account lease of a connection: the supervisor loop drives the page only while this silo holds the lease of the
/// instance (<see cref="IWhatsAppAccountLeases"/>). It renews the lease every third of its duration, stops driving when it
/// loses it (taken over, or not renewable before it runs out) and releases it when the loop ends.
/// </summary>
public sealed partial class WhatsAppWebConnection
{
    private CancellationTokenSource? _leaseHeld;
    private Task _leaseKeeper = Task.CompletedTask;
    private DateTimeOffset _leaseUntil;
    private volatile bool _driving;
    private volatile string? _leaseLostReason;

    /// <summary>Whether this connection holds the account lease now (tests).</summary>
    public bool HoldsLease => _driving;

    private TimeSpan LeaseRenewInterval => _options.LeaseDuration / 3;

    /// <summary>The supervisor loop, then the lease given back so another silo can take over at once.</summary>
    private async Task DriveAsync(CancellationToken stop)
    {
        try
        {
            await SuperviseAsync(stop);
        }
        finally
        {
            await ReleaseLeaseAsync();
        }
    }

    /// <summary>
    /// Returns a token that is cancelled when the loop stops or the lease is lost; waits (reporting which silo drives the
    /// account) until the lease is ours.
    /// </summary>
    private async Task<CancellationToken> HoldLeaseAsync(CancellationToken stop)
    {
        if (_driving && _leaseHeld is { IsCancellationRequested: false } held)
        {
            return held.Token;
        }

        await _leaseKeeper;
        _leaseHeld?.Dispose();
        _leaseHeld = null;
        string? reported = null;
        while (true)
        {
            string waitingFor;
            try
            {
                var attempt = await _leases.TryAcquireAsync(_instanceId, _options.LeaseDuration, stop);
                if (attempt.Acquired)
                {
                    _leaseUntil = attempt.ExpiresAt;
                    _leaseLostReason = null;
                    _driving = true;
                    _leaseHeld = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    _leaseKeeper = KeepLeaseAsync(_leaseHeld);
                    if (reported is not null)
                    {
                        _logger.LogInformation("Silo {Silo} took over the WhatsApp account of {InstanceId}", _leases.SiloName, _instanceId);
                        await ReportStatusAsync(InstanceStatus.Starting, null);
                    }

                    return _leaseHeld.Token;
                }

                waitingFor = $"the account is driven by silo {attempt.HolderSilo}; this silo takes over when it stops";
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                waitingFor = $"the account lease could not be taken: {exception.Message}";
            }

            if (waitingFor != reported)
            {
                reported = waitingFor;
                _logger.LogWarning("WhatsApp Web of {InstanceId} waits: {Reason}", _instanceId, waitingFor);
                await ReportStatusAsync(InstanceStatus.Starting, waitingFor);
            }

            await Task.Delay(LeaseRenewInterval, _time, stop);
        }
    }

    /// <summary>Renews the lease until <paramref name="held"/> is cancelled; on loss cancels it, which ends the running session.</summary>
    private async Task KeepLeaseAsync(CancellationTokenSource held)
    {
        var stop = held.Token;
        while (true)
        {
            try
            {
                await Task.Delay(LeaseRenewInterval, _time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            string lost;
            try
            {
                var attempt = await _leases.TryAcquireAsync(_instanceId, _options.LeaseDuration, stop);
                if (attempt.Acquired)
                {
                    _leaseUntil = attempt.ExpiresAt;
                    continue;
                }

                lost = $"the account was taken over by silo {attempt.HolderSilo}";
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                if (_time.GetUtcNow() + LeaseRenewInterval < _leaseUntil)
                {
                    _logger.LogWarning("Renewing the account lease of {InstanceId} failed, retrying: {Error}", _instanceId, exception.Message);
                    continue;
                }

                // Stop before the lease runs out: after that another silo may start driving the same account.
                lost = $"the account lease could not be renewed: {exception.Message}";
            }

            _logger.LogWarning("WhatsApp Web of {InstanceId} stops driving: {Reason}", _instanceId, lost);
            _leaseLostReason = lost;
            _driving = false;
            await held.CancelAsync();
            return;
        }
    }

    private async Task ReleaseLeaseAsync()
    {
        if (_leaseHeld is null)
        {
            return;
        }

        await _leaseHeld.CancelAsync();
        await _leaseKeeper;
        _leaseHeld.Dispose();
        _leaseHeld = null;
        if (!_driving)
        {
            return;
        }

        _driving = false;
        try
        {
            await _leases.ReleaseAsync(_instanceId, CancellationToken.None);
        }
        catch (Exception exception)
        {
            _logger.LogWarning("Releasing the account lease of {InstanceId} failed; it expires by itself: {Error}", _instanceId, exception.Message);
        }
    }
}

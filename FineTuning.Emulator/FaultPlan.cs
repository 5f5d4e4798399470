using System.Collections.Concurrent;

namespace FineTuning.Emulator;

/// <summary>
/// One injected fault for the next request that matches: answer with <see cref="Status"/> (and Retry-After), or handle
/// the request and then drop the connection before the response reaches the client (<see cref="DropResponse"/>), or
/// answer late (<see cref="Delay"/>).
/// </summary>
public sealed record Fault(string Method, string PathContains, int? Status = null, int RetryAfterSeconds = 0, bool DropResponse = false, TimeSpan? Delay = null);

/// <summary>What happens to a job created while a job fault is planned.</summary>
public enum JobFault
{
    /// <summary>The job fails while running, with a server error.</summary>
    Fail,

    /// <summary>The job stays queued forever.</summary>
    StallInQueue,
}

/// <summary>Faults waiting for their requests, in order; set by tests or by the emulator's configuration.</summary>
public sealed class FaultPlan
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly ConcurrentQueue<JobFault> _jobFaults = new();

    public void Add(Fault fault) => _faults.Enqueue(fault);

    /// <summary>Request faults not yet taken.</summary>
    public int Pending => _faults.Count;

    /// <summary>The next job created gets this fault.</summary>
    public void Add(JobFault fault) => _jobFaults.Enqueue(fault);

    internal JobFault? TakeJobFault() => _jobFaults.TryDequeue(out JobFault fault) ? fault : null;

    internal Fault? Take(string method, string path)
    {
        // Faults are few: look at the head only, so they fire in the order they were planned.
        if (_faults.TryPeek(out Fault? next) && string.Equals(next.Method, method, StringComparison.OrdinalIgnoreCase)
            && path.Contains(next.PathContains, StringComparison.Ordinal) && _faults.TryDequeue(out Fault? taken))
        {
            return taken;
        }

        return null;
    }
}

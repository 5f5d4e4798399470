using System.Collections.Concurrent;

namespace FineTuning.Emulator;

/// <summary>
/// One injected fault for the next request that matches: answer with <see cref="Status"/> (and Retry-After), or handle
/// the request and then drop the connection before the response reaches the client (<see cref="DropResponse"/>), or
/// answer late (<see cref="Delay"/>).
/// </summary>
public sealed record Fault(
    string Method,
    string PathContains,
    int? Status = null,
    int RetryAfterSeconds = 0,
    bool DropResponse = false,
    TimeSpan? Delay = null
)
{
    /// <summary>The forms <see cref="Parse"/> reads, for help texts and errors.</summary>
    public const string Syntax =
        "METHOD PATH STATUS[:RETRY_AFTER_SECONDS] | METHOD PATH slow:SECONDS | METHOD PATH drop, e.g. 'POST /files 429:2', 'GET "
        + "/fine_tuning/jobs/ 500', 'GET /files/ slow:5', 'POST /fine_tuning/jobs drop'";

    /// <summary>Reads a fault from its text form (<see cref="Syntax"/>); the error says what is wrong.</summary>
    public static Fault Parse(string spec)
    {
        string[] parts = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || parts[0].ToUpperInvariant() is not ("GET" or "POST" or "DELETE"))
        {
            throw new FormatException($"'{spec}' is not a fault; write {Syntax}.");
        }

        string method = parts[0].ToUpperInvariant(),
            path = parts[1],
            what = parts[2];
        if (what.Equals("drop", StringComparison.OrdinalIgnoreCase))
        {
            return new Fault(method, path, DropResponse: true);
        }

        string[] pieces = what.Split(':');
        if (
            pieces[0].Equals("slow", StringComparison.OrdinalIgnoreCase)
            && pieces.Length == 2
            && double.TryParse(
                pieces[1],
                System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture,
                out double seconds
            )
            && seconds is > 0 and <= 3600
        )
        {
            return new Fault(method, path, Delay: TimeSpan.FromSeconds(seconds));
        }

        int retryAfter = 0;
        if (
            int.TryParse(pieces[0], System.Globalization.CultureInfo.InvariantCulture, out int status)
            && status is >= 400 and <= 599
            && (
                pieces.Length == 1
                || (pieces.Length == 2 && int.TryParse(pieces[1], System.Globalization.CultureInfo.InvariantCulture, out retryAfter))
            )
        )
        {
            return new Fault(method, path, status, retryAfter);
        }

        throw new FormatException(
            $"'{spec}': '{what}' is not a status (400..599, optionally :RETRY_AFTER_SECONDS), slow:SECONDS or drop; write {Syntax}."
        );
    }
}

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
        if (
            _faults.TryPeek(out Fault? next)
            && string.Equals(next.Method, method, StringComparison.OrdinalIgnoreCase)
            && path.Contains(next.PathContains, StringComparison.Ordinal)
            && _faults.TryDequeue(out Fault? taken)
        )
        {
            return taken;
        }

        return null;
    }
}

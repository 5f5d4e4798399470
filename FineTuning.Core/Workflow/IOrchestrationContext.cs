namespace FineTuning.Core.Workflow;

/// <summary>
/// The orchestrator's only view of the world, with the semantics of Durable Functions' <c>TaskOrchestrationContext</c>:
/// the orchestrator is replayed, so it must be deterministic (time from <see cref="CurrentUtcDateTime"/>, no I/O, no
/// random ids), and everything it passes or gets back round-trips through System.Text.Json.
/// </summary>
public interface IOrchestrationContext
{
    string InstanceId { get; }

    DateTime CurrentUtcDateTime { get; }

    bool IsReplaying { get; }

    Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null);

    /// <summary>Runs another orchestrator as a child with its own history and instance id; its failure is this task's failure.</summary>
    Task<T> CallSubOrchestratorAsync<T>(string name, string instanceId, object? input = null);

    /// <summary>Ends this execution and starts the orchestrator again with <paramref name="input"/> and an empty history (unprocessed events are kept); the orchestrator returns right after.</summary>
    void ContinueAsNew(object? input);

    Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    Task<T> WaitForExternalEvent<T>(string name, CancellationToken cancellationToken = default);

    void SetCustomStatus(object? status);

    /// <summary>
    /// Writes a line to the host's log while the orchestrator runs live and nothing while it replays (Durable's
    /// replay-safe logger), so each line is written once.
    /// </summary>
    void Log(OrchestrationLogLevel level, string message);
}

/// <summary>How much a line of an orchestrator's log matters.</summary>
public enum OrchestrationLogLevel
{
    Information,
    Warning,
    Error,
}

/// <summary>How an activity is retried: attempts, first interval, backoff and cap (Durable's <c>RetryPolicy</c>).</summary>
public sealed class RetryPolicy(int maxNumberOfAttempts, TimeSpan firstRetryInterval, double backoffCoefficient = 1.0, TimeSpan? maxRetryInterval = null)
{
    public int MaxNumberOfAttempts { get; } = maxNumberOfAttempts;

    public TimeSpan FirstRetryInterval { get; } = firstRetryInterval;

    public double BackoffCoefficient { get; } = backoffCoefficient;

    public TimeSpan? MaxRetryInterval { get; } = maxRetryInterval;

    /// <summary>Whether a failure of this exception type (its full name, as Durable's <c>TaskFailureDetails.ErrorType</c>) is worth another attempt; all are by default.</summary>
    public Func<string, bool> ShouldRetry { get; init; } = _ => true;

    /// <summary>The wait before attempt <paramref name="attempt"/> (2 is the first retry).</summary>
    public TimeSpan DelayBefore(int attempt)
    {
        TimeSpan delay = TimeSpan.FromSeconds(FirstRetryInterval.TotalSeconds * Math.Pow(BackoffCoefficient, Math.Max(0, attempt - 2)));
        return MaxRetryInterval is { } cap && delay > cap ? cap : delay;
    }
}

/// <summary>The retry policies of the workflow, declared once.</summary>
public static class Retries
{
    /// <summary>Failures that another attempt cannot mend: a refused request, a missing or replaced blob, an unreadable dataset file.</summary>
    public static IReadOnlySet<string> Permanent { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        typeof(Providers.ProviderRejectedException).FullName!,
        typeof(Storage.BlobNotFoundException).FullName!,
        typeof(Storage.BlobChangedException).FullName!,
        typeof(Datasets.DatasetFileException).FullName!,
    };

    /// <summary>For activities that touch storage or the provider: transient faults pass with time; the permanent ones above fail at once.</summary>
    public static RetryPolicy Transient { get; } = new(maxNumberOfAttempts: 5, firstRetryInterval: TimeSpan.FromSeconds(5), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromMinutes(2))
    {
        ShouldRetry = errorType => !Permanent.Contains(errorType),
    };
}

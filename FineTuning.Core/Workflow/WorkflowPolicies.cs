namespace FineTuning.Core.Workflow;

/// <summary>How an activity is retried: attempts, first interval, backoff and cap (Durable's <c>RetryPolicy</c>).</summary>
public sealed class RetryPolicy(
    int maxNumberOfAttempts,
    TimeSpan firstRetryInterval,
    double backoffCoefficient = 1.0,
    TimeSpan? maxRetryInterval = null
)
{
    public int MaxNumberOfAttempts { get; } = maxNumberOfAttempts;

    public TimeSpan FirstRetryInterval { get; } = firstRetryInterval;

    public double BackoffCoefficient { get; } = backoffCoefficient;

    public TimeSpan? MaxRetryInterval { get; } = maxRetryInterval;

    /// <summary>
    /// Whether a failure of this exception type (its full name, as Durable's <c>TaskFailureDetails.ErrorType</c>) is
    /// worth another attempt; all are by default.
    /// </summary>
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
    /// <summary>
    /// Failures that another attempt cannot mend: a refused request, a missing or replaced blob, an unreadable dataset
    /// file.
    /// </summary>
    public static IReadOnlySet<string> Permanent { get; } =
        new HashSet<string>(StringComparer.Ordinal)
        {
            typeof(Providers.ProviderRejectedException).FullName!,
            typeof(Storage.BlobNotFoundException).FullName!,
            typeof(Storage.BlobChangedException).FullName!,
            typeof(Datasets.DatasetFileException).FullName!,
            typeof(Evaluation.EvaluationImpossibleException).FullName!,
            typeof(Providers.DeploymentNameTakenException).FullName!,
            typeof(Providers.DeploymentNotOfferedException).FullName!,
        };

    /// <summary>
    /// For activities that touch storage or the provider: transient faults pass with time; the permanent ones above
    /// fail at once.
    /// </summary>
    public static RetryPolicy Transient { get; } =
        new(
            maxNumberOfAttempts: 5,
            firstRetryInterval: TimeSpan.FromSeconds(5),
            backoffCoefficient: 2,
            maxRetryInterval: TimeSpan.FromMinutes(2)
        )
        {
            // A provider that asked for more time than a call sleeps through is waited for by the caller, on a durable timer
            // as long as it asked (ProviderCalls), not on this policy's short backoff.
            ShouldRetry = errorType => !Permanent.Contains(errorType) && errorType != typeof(Providers.ProviderBusyException).FullName,
        };
}

/// <summary>How the workflow waits on the provider, declared once: file checks, job polls, backoff, cap, continue-as-new.</summary>
public static class Polling
{
    /// <summary>The longest a run waits for a deployment to succeed (Azure's take minutes; a stuck one fails the run).</summary>
    public static TimeSpan MaxDeploymentWait { get; } = TimeSpan.FromHours(2);

    /// <summary>The most time between two checks of an uploaded file's status (less when the run's poll interval is shorter).</summary>
    public static TimeSpan FileCheckInterval { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks of one file before the run gives up on the provider processing it (about 10 minutes at 5 s).</summary>
    public const int MaxFileChecks = 120;

    /// <summary>Each job poll waits this many times longer than the one before, from the run's poll interval ...</summary>
    public const double JobPollBackoff = 2;

    /// <summary>... up to this (a 48-hour job is about 290 polls).</summary>
    public static TimeSpan MaxJobPollInterval { get; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest a run waits, in all, on a provider that keeps asking to be called later for one call.</summary>
    public static TimeSpan MaxProviderWait { get; } = TimeSpan.FromHours(24);

    /// <summary>A paused job is checked at least this often, so a resume shows soon.</summary>
    public static TimeSpan MaxPausedPollInterval { get; } = TimeSpan.FromMinutes(1);

    /// <summary>Polls in one execution of the job monitor before it continues as new (its history stays bounded).</summary>
    public const int PollsPerExecution = 50;

    /// <summary>The wait before the next check of a file.</summary>
    public static TimeSpan FileCheck(TimeSpan pollInterval) => pollInterval < FileCheckInterval ? pollInterval : FileCheckInterval;

    /// <summary>The wait after <paramref name="interval"/> for a job in <paramref name="status"/>.</summary>
    public static TimeSpan NextJobPoll(TimeSpan interval, string status)
    {
        TimeSpan cap = status == Providers.JobStatuses.Paused ? MaxPausedPollInterval : MaxJobPollInterval;
        TimeSpan next = interval * JobPollBackoff;
        return next < cap ? next : cap;
    }
}

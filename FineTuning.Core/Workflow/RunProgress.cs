namespace FineTuning.Core.Workflow;

/// <summary>The custom status a run shows while it runs (small: a few hundred bytes).</summary>
public sealed record RunProgress(
    string Stage,
    string? JobStatus = null,
    int? Step = null,
    int? TotalSteps = null,
    double? LatestMetric = null,
    DateTimeOffset? EstimatedFinish = null,
    string? Metric = null
)
{
    /// <summary>What the run waits for when it waits for something other than the job (a provider that asked for time).</summary>
    public string? Waiting { get; init; }

    /// <summary>The epochs the job trains for, once the provider says (null while it shows them as auto).</summary>
    public int? Epochs { get; init; }

    /// <summary>The epoch the step is in (1 to <see cref="Epochs"/>), when the epochs and the steps are known.</summary>
    public int? Epoch =>
        Step is int step && TotalSteps is int total && total > 0 && Epochs is int epochs and > 0
            ? Math.Clamp((int)Math.Ceiling((double)step * epochs / total), 1, epochs)
            : null;

    /// <summary>One line for a person: <c>Monitor (job running, step 3/10, train_loss 0.812, estimated finish 14:05 UTC)</c>.</summary>
    public string Describe(bool showFinish = true)
    {
        var parts = new List<string>();
        if (Waiting is not null)
            parts.Add($"waiting: {Waiting}");
        if (JobStatus is not null)
            parts.Add($"job {JobStatus}");
        if (Step is int step)
            parts.Add(TotalSteps is int total ? $"step {step}/{total}" : $"step {step}");
        if (Epoch is int epoch)
            parts.Add($"epoch {epoch}/{Epochs}");
        if (Metric is not null && LatestMetric is double value)
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Metric} {value:0.###}"));
        if (showFinish && EstimatedFinish is { } eta)
            parts.Add($"estimated finish {eta.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
        return parts.Count == 0 ? Stage : $"{Stage} ({string.Join(", ", parts)})";
    }
}

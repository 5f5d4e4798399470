using System.Globalization;
using System.Text.RegularExpressions;

namespace FineTuning.Core.Workflow;

/// <summary>
/// A line of the orchestrators' log as a typed event: a message template with a placeholder per field (the syntax of
/// Microsoft.Extensions.Logging) and its arguments, so each host logs the run id, stage, job and status as fields
/// (custom dimensions in Application Insights), not as text inside a string. Templates and event ids live here once.
/// </summary>
public abstract partial record WorkflowEvent
{
    /// <summary>A stable id per kind of event (Application Insights' <c>EventId</c>).</summary>
    public abstract int EventId { get; }

    public abstract OrchestrationLogLevel Level { get; }

    /// <summary>The message template; a constant per kind of event (and per shape, where a field may be absent).</summary>
    public abstract string Template { get; }

    /// <summary>The values of the template's placeholders, in order.</summary>
    public abstract object?[] Arguments { get; }

    /// <summary>
    /// The fields by placeholder name, and the template as <c>{OriginalFormat}</c>: the state a logger reads as
    /// structured fields (what Microsoft.Extensions.Logging's own message templates produce).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Fields()
    {
        object?[] arguments = Arguments;
        var fields = new List<KeyValuePair<string, object?>>(arguments.Length + 1);
        foreach (Match placeholder in Placeholder().Matches(Template))
        {
            fields.Add(new(placeholder.Value[1..^1], fields.Count < arguments.Length ? arguments[fields.Count] : null));
        }

        fields.Add(new("{OriginalFormat}", Template));
        return fields;
    }

    /// <summary>The message with its values, as a person reads it.</summary>
    public string Describe()
    {
        int next = 0;
        object?[] arguments = Arguments;
        return Placeholder()
            .Replace(Template, _ =>
                Convert.ToString(next < arguments.Length ? arguments[next++] : null, CultureInfo.InvariantCulture) ?? ""
            );
    }

    [GeneratedRegex(@"\{[A-Za-z]+\}")]
    private static partial Regex Placeholder();
}

/// <summary>The event ids of <see cref="WorkflowEvent"/>s.</summary>
public static class WorkflowEventIds
{
    public const int StageEntered = 101;
    public const int RunSucceeded = 102;
    public const int RunEnded = 103;
    public const int JobStatusChanged = 104;
    public const int JobControlNotApplied = 105;
    public const int ModelEvaluated = 106;
}

/// <summary>The run evaluated its model against the base: the outcome, the change in score, and whether the policy passed.</summary>
public sealed record ModelEvaluated(string RunId, string ModelId, string Outcome, double? ImprovementPercent, double? WinRate, bool Passed)
    : WorkflowEvent
{
    public override int EventId => WorkflowEventIds.ModelEvaluated;

    public override OrchestrationLogLevel Level => Passed ? OrchestrationLogLevel.Information : OrchestrationLogLevel.Warning;

    public override string Template =>
        "Run {RunId}: {ModelId} evaluated: {Outcome}, {ImprovementPercent}% against the base, win rate {WinRate}, policy passed: {Passed}";

    public override object?[] Arguments =>
        [
            RunId,
            ModelId,
            Outcome,
            ImprovementPercent is double p ? Math.Round(p, 1) : null,
            WinRate is double w ? Math.Round(w, 3) : null,
            Passed,
        ];
}

/// <summary>The run entered a stage (with its job, once there is one).</summary>
public sealed record StageEntered(string RunId, string Stage, string? JobId = null, string? JobStatus = null) : WorkflowEvent
{
    public override int EventId => WorkflowEventIds.StageEntered;

    public override OrchestrationLogLevel Level => OrchestrationLogLevel.Information;

    public override string Template => JobId is null ? "Run {RunId}: {Stage}" : "Run {RunId}: {Stage} (job {JobId} {JobStatus})";

    public override object?[] Arguments => JobId is null ? [RunId, Stage] : [RunId, Stage, JobId, JobStatus];
}

/// <summary>The run registered its model.</summary>
public sealed record RunSucceeded(string RunId, string? ModelId) : WorkflowEvent
{
    public override int EventId => WorkflowEventIds.RunSucceeded;

    public override OrchestrationLogLevel Level => OrchestrationLogLevel.Information;

    public override string Template => "Run {RunId}: Succeeded: registered {ModelId}";

    public override object?[] Arguments => [RunId, ModelId];
}

/// <summary>The run ended otherwise: failed or cancelled, at a stage, with the reason.</summary>
public sealed record RunEnded(string RunId, RunStatus Status, string Stage, string? Error) : WorkflowEvent
{
    public override int EventId => WorkflowEventIds.RunEnded;

    public override OrchestrationLogLevel Level =>
        Status == RunStatus.Cancelled ? OrchestrationLogLevel.Warning : OrchestrationLogLevel.Error;

    public override string Template => "Run {RunId}: {Status} at {Stage}: {Error}";

    public override object?[] Arguments => [RunId, Status, Stage, Error];
}

/// <summary>The job's status changed (the job monitor's polls, or a pause or resume the run asked for), with its progress.</summary>
public sealed record JobStatusChanged(string RunId, string JobId, string JobStatus, int? Step = null, int? TotalSteps = null)
    : WorkflowEvent
{
    public override int EventId => WorkflowEventIds.JobStatusChanged;

    public override OrchestrationLogLevel Level => OrchestrationLogLevel.Information;

    public override string Template =>
        Step is null ? "Run {RunId}: job {JobId} is {JobStatus}" : "Run {RunId}: job {JobId} is {JobStatus} (step {Step} of {TotalSteps})";

    public override object?[] Arguments => Step is null ? [RunId, JobId, JobStatus] : [RunId, JobId, JobStatus, Step, TotalSteps];
}

/// <summary>A pause or resume the run could not pass on (the job was not running, or the provider refused).</summary>
public sealed record JobControlNotApplied(string RunId, string JobId, string Control, string Reason) : WorkflowEvent
{
    public override int EventId => WorkflowEventIds.JobControlNotApplied;

    public override OrchestrationLogLevel Level => OrchestrationLogLevel.Warning;

    public override string Template => "Run {RunId}: {Control} of job {JobId} not applied: {Reason}";

    public override object?[] Arguments => [RunId, Control, JobId, Reason];
}

/// <summary>How a host writes the orchestrators' events to its logger.</summary>
public static class WorkflowLog
{
    /// <summary>The category of the orchestrators' events on both hosts (the Azure workbook's queries select it).</summary>
    public const string Category = "FineTuning.Workflow";

    /// <summary>Writes <paramref name="entry"/> with its event id, its fields as structured state and its message.</summary>
    public static void Write(this Microsoft.Extensions.Logging.ILogger logger, WorkflowEvent entry)
    {
        var level = entry.Level switch
        {
            OrchestrationLogLevel.Warning => Microsoft.Extensions.Logging.LogLevel.Warning,
            OrchestrationLogLevel.Error => Microsoft.Extensions.Logging.LogLevel.Error,
            _ => Microsoft.Extensions.Logging.LogLevel.Information,
        };
        if (logger.IsEnabled(level))
        {
            logger.Log(level, new Microsoft.Extensions.Logging.EventId(entry.EventId, entry.GetType().Name), entry.Fields(), null, (_, _) =>
                entry.Describe()
            );
        }
    }
}

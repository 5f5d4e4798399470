namespace FineTuning.Core.Workflow;

/// <summary>
/// The run's row as the orchestrator keeps it: the stage it enters, the counts it learns, how it ends. Each write is an
/// <see cref="Activities.UpdateRun"/> call and sets the custom status, so the row and the status always say where the
/// run is. Entering a stage is where a cancel that arrived during the stage before takes effect.
/// </summary>
internal sealed class RunLedger(IOrchestrationContext context, RunSignals signals, string datasetBlob)
{
    public DateTime Started { get; } = context.CurrentUtcDateTime;

    public RunRow Row { get; private set; } =
        new()
        {
            RunId = context.InstanceId,
            DatasetBlob = datasetBlob,
            CreatedAt = context.CurrentUtcDateTime,
            UpdatedAt = context.CurrentUtcDateTime,
            Status = RunStatus.Running,
        };

    /// <summary>Notes what the run learned (counts, the job); written with the next stage.</summary>
    public void Record(Func<RunRow, RunRow> change) => Row = change(Row);

    /// <summary>
    /// Enters <paramref name="stage"/>: throws <see cref="RunCancelledException"/> if a cancel has arrived, else writes
    /// the row.
    /// </summary>
    public async Task EnterAsync(string stage)
    {
        signals.ThrowIfCancelled();
        Row = Row with { Stage = stage, Stages = [.. Row.Stages, new StageEntry(stage, context.CurrentUtcDateTime)] };
        await WriteAsync(new StageEntered(Row.RunId, stage, Row.JobId, Row.JobStatus));
    }

    /// <summary>Writes a change of the job's status seen by the run itself (a pause or a resume it asked for).</summary>
    public async Task JobStatusAsync(string status)
    {
        Row = Row with { JobStatus = status };
        await WriteAsync(new JobStatusChanged(Row.RunId, Row.JobId!, status));
    }

    /// <summary>Ends the run: its final row, its last log line, its outcome.</summary>
    public async Task<RunOutcome> EndAsync(RunStatus status, string? error, string? modelId = null)
    {
        Row = Row with { Status = status, Error = error, ModelId = modelId ?? Row.ModelId, FinishedAt = context.CurrentUtcDateTime };
        await WriteAsync(
            status == RunStatus.Succeeded ? new RunSucceeded(Row.RunId, Row.ModelId) : new RunEnded(Row.RunId, status, Row.Stage, error)
        );
        return new RunOutcome(status, Row.ModelId, error);
    }

    private async Task WriteAsync(WorkflowEvent entry)
    {
        Row = Row with { UpdatedAt = context.CurrentUtcDateTime };
        context.SetCustomStatus(new RunProgress(Row.Stage, Row.JobStatus));
        context.Log(entry);

        await context.CallActivityAsync<bool>(nameof(Activities.UpdateRun), Row, Retries.Transient);
    }
}

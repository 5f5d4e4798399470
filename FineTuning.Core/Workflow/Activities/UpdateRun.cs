namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Writes the run's row (upsert), except over a finished row with an unfinished one: the run and its job monitor write
/// from two orchestrations, and a monitor's last progress row may land after the run's final one. Returns whether it wrote.
/// </summary>
public sealed class UpdateRun(IRunStore runs) : IWorkflowActivity<RunRow, bool>
{
    public async Task<bool> RunAsync(RunRow row, CancellationToken cancellationToken = default)
    {
        if (row.FinishedAt is null && await runs.GetAsync(row.RunId, cancellationToken).ConfigureAwait(false) is { FinishedAt: not null })
        {
            return false;
        }

        await runs.UpsertAsync(row, cancellationToken).ConfigureAwait(false);
        return true;
    }
}

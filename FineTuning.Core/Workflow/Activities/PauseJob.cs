using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Pauses a running job; a job in any other status (queued, paused already, ended) is left as it is.</summary>
public sealed class PauseJob(IFineTuningProvider provider) : IWorkflowActivity<string, JobSnapshot>
{
    public async Task<JobSnapshot> RunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        return GetJob.Snapshot(
            job.Status != JobStatuses.Running ? job : await provider.PauseJobAsync(jobId, cancellationToken).ConfigureAwait(false)
        );
    }
}

using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Cancels a job; a job that has already finished is left as it is.</summary>
public sealed class CancelJob(IFineTuningProvider provider) : IWorkflowActivity<string, JobSnapshot>
{
    public async Task<JobSnapshot> RunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        return GetJob.Snapshot(job.IsFinished ? job : await provider.CancelJobAsync(jobId, cancellationToken).ConfigureAwait(false));
    }
}

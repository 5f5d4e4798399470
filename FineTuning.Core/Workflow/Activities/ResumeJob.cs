using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Resumes a paused job; a job that is not paused is left as it is.</summary>
public sealed class ResumeJob(IFineTuningProvider provider) : IWorkflowActivity<string, JobSnapshot>
{
    public async Task<JobSnapshot> RunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        return GetJob.Snapshot(
            job.Status == JobStatuses.Paused ? await provider.ResumeJobAsync(jobId, cancellationToken).ConfigureAwait(false) : job
        );
    }
}

using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Submits the job exactly once: a job already tagged with the run id is returned instead of a new one.</summary>
public sealed class SubmitJob(IFineTuningProvider provider) : IWorkflowActivity<JobRequest, JobSnapshot>
{
    public async Task<JobSnapshot> RunAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.FindJobByRunIdAsync(request.RunId, cancellationToken).ConfigureAwait(false)
            ?? await provider.CreateJobAsync(request, cancellationToken).ConfigureAwait(false);
        return GetJob.Snapshot(job);
    }
}

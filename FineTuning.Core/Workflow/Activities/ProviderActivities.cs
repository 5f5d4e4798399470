using System.Text.Json;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Uploads a split file to the provider.</summary>
public sealed class UploadFile(IBlobStore blobs, IFineTuningProvider provider)
{
    public async Task<ProviderFile> RunAsync(string blobName, CancellationToken cancellationToken = default)
    {
        await using Stream content = await blobs.OpenReadAsync(blobName, cancellationToken).ConfigureAwait(false);
        return await provider.UploadFileAsync(Path.GetFileName(blobName), content, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Reads a provider file's status (uploaded, processed, error).</summary>
public sealed class GetFileStatus(IFineTuningProvider provider)
{
    public async Task<ProviderFile> RunAsync(string fileId, CancellationToken cancellationToken = default) =>
        await provider.GetFileAsync(fileId, cancellationToken).ConfigureAwait(false);
}

/// <summary>Submits the job exactly once: a job already tagged with the run id is returned instead of a new one.</summary>
public sealed class SubmitJob(IFineTuningProvider provider)
{
    public async Task<JobSnapshot> RunAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.FindJobByRunIdAsync(request.RunId, cancellationToken).ConfigureAwait(false)
            ?? await provider.CreateJobAsync(request, cancellationToken).ConfigureAwait(false);
        return GetJob.Snapshot(job);
    }
}

/// <summary>Reads a job's status.</summary>
public sealed class GetJob(IFineTuningProvider provider)
{
    private static readonly string[] HeadlineMetrics = ["train_loss", "train_reward_mean", "valid_loss"];

    public async Task<JobSnapshot> RunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (job.Status != JobStatuses.Running)
        {
            return Snapshot(job);
        }

        // Progress comes from the newest metrics event; a page of recent events is one request however long the job runs.
        IReadOnlyList<ProviderEvent> recent = await provider.GetRecentEventsAsync(jobId, 20, cancellationToken).ConfigureAwait(false);
        return Snapshot(job) with { Progress = recent.Select(Progress).FirstOrDefault(p => p is not null) };
    }

    private static TrainingProgress? Progress(ProviderEvent e)
    {
        if (e.Data is not { ValueKind: JsonValueKind.Object } data || !data.TryGetProperty("step", out JsonElement step) || !step.TryGetInt32(out int stepNumber))
        {
            return null;
        }

        int? total = data.TryGetProperty("total_steps", out JsonElement t) && t.TryGetInt32(out int totalSteps) ? totalSteps : null;
        foreach (string metric in HeadlineMetrics)
        {
            if (data.TryGetProperty(metric, out JsonElement value) && value.ValueKind == JsonValueKind.Number)
            {
                return new TrainingProgress(stepNumber, total, metric, value.GetDouble());
            }
        }

        return new TrainingProgress(stepNumber, total, null, null);
    }

    internal static JobSnapshot Snapshot(ProviderJob job) =>
        new(job.Id, job.Status, job.IsFinished, job.FineTunedModel, job.TrainedTokens, job.EstimatedFinish,
            job.Error is { } e ? $"{e.Code}: {e.Message}" : null);
}

/// <summary>Cancels a job; a job that has already finished is left as it is.</summary>
public sealed class CancelJob(IFineTuningProvider provider)
{
    public async Task<JobSnapshot> RunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ProviderJob job = await provider.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        return GetJob.Snapshot(job.IsFinished ? job : await provider.CancelJobAsync(jobId, cancellationToken).ConfigureAwait(false));
    }
}

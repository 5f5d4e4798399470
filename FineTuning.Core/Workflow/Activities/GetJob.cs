using System.Text.Json;
using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Reads a job's status.</summary>
public sealed class GetJob(IFineTuningProvider provider) : IWorkflowActivity<string, JobSnapshot>
{
    private static readonly string[] HeadlineMetrics = ["train_loss", "train_reward_mean", "valid_loss"];

    public async Task<JobSnapshot> RunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ProviderJob job;
        try
        {
            job = await provider.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        }
        catch (ProviderBusyException busy)
        {
            // Not an answer about the job: the monitor keeps what it knew and waits as long as the provider asked.
            return new JobSnapshot(jobId, JobStatuses.Running, false, null, null, null, null)
            {
                ProviderBusyFor = busy.RetryAfter,
                ProviderBusyReason = busy.Message,
            };
        }

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
        if (
            e.Data is not { ValueKind: JsonValueKind.Object } data
            || !data.TryGetProperty("step", out JsonElement step)
            || !step.TryGetInt32(out int stepNumber)
        )
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
        new(
            job.Id,
            job.Status,
            job.IsFinished,
            job.FineTunedModel,
            job.TrainedTokens,
            job.EstimatedFinish,
            job.Error is { } e ? $"{e.Code}: {e.Message}" : null
        )
        {
            Hyperparameters = job.Used,
        };
}

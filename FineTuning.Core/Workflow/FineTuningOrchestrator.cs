using System.Security.Cryptography;
using System.Text;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Workflow;

/// <summary>The custom status a run shows while it runs (small: a few hundred bytes).</summary>
public sealed record RunProgress(string Stage, string? JobStatus = null, int? Step = null, int? TotalSteps = null, double? LatestMetric = null, DateTimeOffset? EstimatedFinish = null, string? Metric = null)
{
    /// <summary>One line for a person: <c>Monitor (job running, step 3/10, train_loss 0.812, estimated finish 14:05 UTC)</c>.</summary>
    public string Describe(bool showFinish = true)
    {
        var parts = new List<string>();
        if (JobStatus is not null) parts.Add($"job {JobStatus}");
        if (Step is int step) parts.Add(TotalSteps is int total ? $"step {step}/{total}" : $"step {step}");
        if (Metric is not null && LatestMetric is double value) parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Metric} {value:0.###}"));
        if (showFinish && EstimatedFinish is { } eta) parts.Add($"estimated finish {eta.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
        return parts.Count == 0 ? Stage : $"{Stage} ({string.Join(", ", parts)})";
    }
}

/// <summary>
/// The run, from dataset to registered model. Written once against <see cref="IOrchestrationContext"/>, so Durable
/// Functions and the embedded runtime run the same code; deterministic: time comes from the context, activities do
/// the I/O, and only references and small summaries pass through here.
/// </summary>
public static class FineTuningOrchestrator
{
    /// <summary>The external event that cancels a run.</summary>
    public const string CancelEvent = "cancel";

    private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>A run id from the dataset identity and the request: the same input starts the same run.</summary>
    public static string RunIdFor(string datasetBlob, string datasetETag, RunRequest request)
    {
        string identity = $"{datasetBlob}\n{datasetETag}\n{ReportSerializer.Serialize(request)}";
        return "run-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..20];
    }

    /// <summary>The run id for a request whose dataset blob exists, or null when it does not (the host answers 400).</summary>
    public static async Task<string?> RunIdForAsync(Storage.IBlobStore blobs, RunRequest request, CancellationToken cancellationToken = default) =>
        await blobs.GetPropertiesAsync(request.DatasetBlob, cancellationToken).ConfigureAwait(false) is { } dataset
            ? RunIdFor(request.DatasetBlob, dataset.ETag, request)
            : null;

    public static async Task<RunOutcome> RunAsync(IOrchestrationContext context, RunRequest request)
    {
        string runId = context.InstanceId;
        DateTime started = context.CurrentUtcDateTime;
        var row = new RunRow { RunId = runId, DatasetBlob = request.DatasetBlob, CreatedAt = started, UpdatedAt = started, Status = RunStatus.Running };
        async Task Stage(string stage, Func<RunRow, RunRow>? change = null)
        {
            row = (change?.Invoke(row) ?? row) with { Stage = stage, UpdatedAt = context.CurrentUtcDateTime };
            context.SetCustomStatus(new RunProgress(stage, row.JobStatus));
            context.Log(OrchestrationLogLevel.Information, row.JobId is null ? stage : $"{stage} (job {row.JobId} {row.JobStatus})");
            await context.CallActivityAsync<bool>(nameof(UpdateRun), row, Retries.Transient);
        }

        async Task<RunOutcome> End(RunStatus status, string? error, string? modelId = null)
        {
            row = row with { Status = status, Error = error, ModelId = modelId ?? row.ModelId, UpdatedAt = context.CurrentUtcDateTime, FinishedAt = context.CurrentUtcDateTime };
            context.SetCustomStatus(new RunProgress(row.Stage, row.JobStatus));
            context.Log(status switch { RunStatus.Succeeded => OrchestrationLogLevel.Information, RunStatus.Cancelled => OrchestrationLogLevel.Warning, _ => OrchestrationLogLevel.Error },
                status == RunStatus.Succeeded ? $"{status}: registered {row.ModelId}" : $"{status}: {error}");
            await context.CallActivityAsync<bool>(nameof(UpdateRun), row, Retries.Transient);
            return new RunOutcome(status, row.ModelId, error);
        }

        try
        {
            return await Stages();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An activity out of retries (or refused for good): the run ends Failed and says where and why.
            return await End(RunStatus.Failed, $"{row.Stage} failed: {ex.Message}");
        }

        async Task<RunOutcome> Stages()
        {
            // 1-2. Shards, validated in parallel, merged.
            await Stage(RunStages.PlanShards);
            ShardPlan plan = await context.CallActivityAsync<ShardPlan>(nameof(PlanShards), new PlanShardsInput(runId, request.DatasetBlob), Retries.Transient);
            await Stage(RunStages.ValidateShards);
            ValidationSettings settings = ValidationSettings.From(request);
            ShardValidated[] shards = await Task.WhenAll(plan.Shards.Select(shard =>
                context.CallActivityAsync<ShardValidated>(nameof(ValidateShard), new ValidateShardInput(runId, shard, settings), Retries.Transient)));
            ValidationSummary validation = await context.CallActivityAsync<ValidationSummary>(nameof(MergeValidation),
                new MergeValidationInput(runId, request.DatasetBlob, settings, [.. shards.Select(s => s.ReportBlob)]), Retries.Transient);
            row = row with { Rows = validation.Rows, Examples = validation.Examples };
            if (!validation.Fit)
            {
                return await End(RunStatus.Failed, $"{validation.Verdict} {string.Join(" ", validation.FirstErrors.Select(f => f.ToString()))}".Trim());
            }

            // 3. Split.
            await Stage(RunStages.Split);
            SplitSummary split = await context.CallActivityAsync<SplitSummary>(nameof(SplitDataset),
                new SplitInput(runId, request.DatasetBlob, settings, request.TrainRatio, request.StratifyBy, request.SplitSeed, request.IncludeGeneratedInValidation), Retries.Transient);
            row = row with { TrainRows = split.TrainRows, ValidationRows = split.ValidationRows };

            // 4. Upload, and wait with durable timers until the provider has processed the files.
            await Stage(RunStages.UploadFiles);
            ProviderFile train = await context.CallActivityAsync<ProviderFile>(nameof(UploadFile), split.TrainBlob, Retries.Transient);
            ProviderFile? valid = split.ValidationRows > 0 ? await context.CallActivityAsync<ProviderFile>(nameof(UploadFile), split.ValidationBlob, Retries.Transient) : null;
            foreach (ProviderFile file in valid is null ? [train] : new[] { train, valid })
            {
                ProviderFile current = file;
                for (int i = 0; current.Status != "processed"; i++)
                {
                    if (current.Status == "error" || i > 120)
                    {
                        return await End(RunStatus.Failed, $"The provider could not process {current.FileName}: {current.StatusDetails ?? current.Status}.");
                    }

                    await context.CreateTimer(context.CurrentUtcDateTime + (request.PollInterval < FileCheckInterval ? request.PollInterval : FileCheckInterval), CancellationToken.None);
                    current = await context.CallActivityAsync<ProviderFile>(nameof(GetFileStatus), file.Id, Retries.Transient);
                }
            }

            // 5. Submit exactly once.
            await Stage(RunStages.SubmitJob);
            FineTuningMethod method = FineTuningMethods.TryParse(validation.Method, out FineTuningMethod m) ? m : FineTuningMethod.Supervised;
            var jobRequest = new JobRequest(runId, validation.Model, train.Id, valid?.Id, method, request.Suffix, request.Seed, request.Hyperparameters, request.Grader);
            JobSnapshot job = await context.CallActivityAsync<JobSnapshot>(nameof(SubmitJob), jobRequest, Retries.Transient);
            await Stage(RunStages.Monitor, r => r with { JobId = job.JobId, JobStatus = job.Status });

            // 6. Monitor in a child orchestration (its history stays bounded on long jobs), racing the cancel event.
            // Cancel(), not CancelAsync(): the callbacks must run now, on the orchestration's thread, for replay to see the same order.
            using var stop = new CancellationTokenSource();
            Task<bool> cancel = context.WaitForExternalEvent<bool>(CancelEvent, stop.Token);
            Task<MonitorResult> monitor = context.CallSubOrchestratorAsync<MonitorResult>(JobMonitor.Name, JobMonitor.InstanceIdFor(runId),
                new MonitorInput(row, job, started + request.Deadline, request.PollInterval));
            if (await Task.WhenAny(cancel, monitor) == cancel)
            {
                JobSnapshot cancelled = await context.CallActivityAsync<JobSnapshot>(nameof(CancelJob), job.JobId, Retries.Transient);
                row = row with { JobStatus = cancelled.Status };
                return await End(RunStatus.Cancelled, "Cancelled on request; the provider job was cancelled.");
            }

            stop.Cancel();
            MonitorResult monitored = await monitor;
            job = monitored.Job;
            row = row with { JobStatus = job.Status };
            if (monitored.TimedOut)
            {
                return await End(RunStatus.Failed, $"Timed out: the job was not finished at the deadline ({request.Deadline}); it was cancelled.");
            }

            if (job.Status != JobStatuses.Succeeded || job.FineTunedModel is null)
            {
                return await End(job.Status == JobStatuses.Cancelled ? RunStatus.Cancelled : RunStatus.Failed, job.Error ?? $"The job ended {job.Status}.");
            }

            // 7-8. Results, then the registry row with lineage.
            await Stage(RunStages.CollectResults);
            ResultsSummary results = await context.CallActivityAsync<ResultsSummary>(nameof(CollectResults), new CollectResultsInput(runId, job.JobId, method.ToWireName()), Retries.Transient);
            await Stage(RunStages.RegisterModel);
            var model = new ModelRow
            {
                ModelId = job.FineTunedModel,
                BaseModel = validation.Model,
                Method = method.ToWireName(),
                RunId = runId,
                JobId = job.JobId,
                Hyperparameters = request.Hyperparameters is null ? null : ReportSerializer.Serialize(request.Hyperparameters),
                Seed = request.Seed,
                FileIds = valid is null ? [train.Id] : [train.Id, valid.Id],
                DatasetBlob = request.DatasetBlob,
                DatasetETag = plan.ETag,
                DatasetContentHash = plan.ContentHash,
                SplitSeed = request.SplitSeed,
                TrainRowsByTopic = split.TrainRowsByTopic,
                Metrics = results.Final is double final ? new Dictionary<string, double> { [results.Metric] = final } : new Dictionary<string, double>(),
                Outcome = results.Outcome,
                RegisteredAt = context.CurrentUtcDateTime,
            };
            await context.CallActivityAsync<bool>(nameof(RegisterModel), model, Retries.Transient);
            return await End(RunStatus.Succeeded, null, job.FineTunedModel);
        }
    }
}

using System.Security.Cryptography;
using System.Text;
using FineTuning.Core.Datasets;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Workflow;

/// <summary>
/// The run, from dataset to registered model. Written once against <see cref="IOrchestrationContext"/>, so Durable
/// Functions and the embedded runtime run the same code; deterministic: time comes from the context, activities do
/// the I/O, and only references and small summaries pass through here.
/// </summary>
public static partial class FineTuningOrchestrator
{
    /// <summary>The external event that cancels a run.</summary>
    public const string CancelEvent = "cancel";

    /// <summary>The external event that pauses a run's job (the deadline clock stops while it is paused).</summary>
    public const string PauseEvent = "pause";

    /// <summary>The external event that resumes a run's paused job.</summary>
    public const string ResumeEvent = "resume";

    /// <summary>The external event that approves a model waiting for approval (payload: <see cref="Decision"/>).</summary>
    public const string ApproveEvent = "approve";

    /// <summary>The external event that rejects a model waiting for approval (payload: <see cref="Decision"/>).</summary>
    public const string RejectEvent = "reject";

    /// <summary>A run id from the dataset identity and the request: the same input starts the same run.</summary>
    public static string RunIdFor(string datasetBlob, string datasetETag, RunRequest request)
    {
        string identity = $"{datasetBlob}\n{datasetETag}\n{ReportSerializer.Serialize(request)}";
        return "run-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..20];
    }

    /// <summary>The run id for a request whose dataset blob exists, or null when it does not (the host answers 400).</summary>
    public static async Task<string?> RunIdForAsync(
        Storage.IBlobStore blobs,
        RunRequest request,
        CancellationToken cancellationToken = default
    ) =>
        await blobs.GetPropertiesAsync(request.DatasetBlob, cancellationToken).ConfigureAwait(false) is { } dataset
            ? RunIdFor(request.DatasetBlob, dataset.ETag, request)
            : null;

    /// <summary>The run: its stages in order, and how it ends when one fails or a cancel arrives.</summary>
    public static async Task<RunOutcome> RunAsync(IOrchestrationContext context, RunRequest request)
    {
        using var signals = new RunSignals(context);
        var run = new RunLedger(context, signals, request.DatasetBlob);
        try
        {
            return await StagesAsync(context, request, run, signals);
        }
        catch (RunCancelledException)
        {
            if (run.Row.JobId is not { } jobId)
            {
                return await run.EndAsync(RunStatus.Cancelled, "Cancelled on request; no job was created.");
            }

            if (JobStatuses.IsFinal(run.Row.JobStatus))
            {
                string model = run.Row.ModelId is { } id ? $"; the model {id} stays in the registry as it was" : "";
                return await run.EndAsync(RunStatus.Cancelled, $"Cancelled on request after the job ended{model}.");
            }

            JobSnapshot cancelled = await context.CallProviderAsync<JobSnapshot>(run.Row.Stage, nameof(CancelJob), jobId);
            run.Record(r => r with { JobStatus = cancelled.Status });
            return await run.EndAsync(RunStatus.Cancelled, "Cancelled on request; the provider job was cancelled.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A stage out of retries (or refused for good): the run ends Failed, says where and why, and leaves no job billing.
            string error = $"{run.Row.Stage} failed: {ex.Message}";
            return await run.EndAsync(RunStatus.Failed, error + await CancelLeftoverJobAsync(context, run));
        }
    }

    private static async Task<RunOutcome> StagesAsync(IOrchestrationContext context, RunRequest request, RunLedger run, RunSignals signals)
    {
        string runId = context.InstanceId;

        // 1-2. Shards, validated in parallel, merged.
        await run.EnterAsync(RunStages.PlanShards);
        ShardPlan plan = await context.CallActivityAsync<ShardPlan>(
            nameof(PlanShards),
            new PlanShardsInput(runId, request.DatasetBlob),
            Retries.Transient
        );
        await run.EnterAsync(RunStages.ValidateShards);
        ValidationSettings settings = ValidationSettings.From(request);
        ShardValidated[] shards = await Task.WhenAll(
            plan.Shards.Select(shard =>
                context.CallActivityAsync<ShardValidated>(
                    nameof(ValidateShard),
                    new ValidateShardInput(runId, shard, settings),
                    Retries.Transient
                )
            )
        );
        signals.ThrowIfCancelled();
        ValidationSummary validation = await context.CallActivityAsync<ValidationSummary>(
            nameof(MergeValidation),
            new MergeValidationInput(runId, request.DatasetBlob, settings, [.. shards.Select(s => s.ReportBlob)]),
            Retries.Transient
        );
        run.Record(r =>
            r with
            {
                Rows = validation.Rows,
                Examples = validation.Examples,
                Method = validation.Method,
                Model = validation.Model,
            }
        );
        if (!validation.Fit)
        {
            return await run.EndAsync(
                RunStatus.Failed,
                // The verdict, then a line per finding (a run's error is read in a terminal as often as in JSON).
                string.Join("\n  ", [validation.Verdict, .. validation.FirstErrors.Select(f => f.ToString())])
            );
        }

        run.Record(r => r with { EstimatedCostUsd = validation.Estimate?.EstimatedCostUsd });
        if (
            request.BudgetUsd is decimal budget
            && BudgetProblem(validation.Estimate, budget, validation.EvaluationEstimate) is { } overBudget
        )
        {
            // Nothing is uploaded or paid for: the estimate is known before the split.
            return await run.EndAsync(RunStatus.Failed, overBudget);
        }

        FineTuningMethod method = FineTuningMethods.TryParse(validation.Method, out FineTuningMethod m) ? m : FineTuningMethod.Supervised;
        if (method == FineTuningMethod.Reinforcement && request.Grader is null)
        {
            // Known only now when the method was detected: refused before anything is uploaded or paid for.
            return await run.EndAsync(
                RunStatus.Failed,
                "The dataset is written for reinforcement fine-tuning, which needs a grader: give one (grader, --grader FILE)."
            );
        }

        // The grader dry run: a reinforcement run's grader is validated and run on a few rows by the provider before
        // anything is uploaded; a grader it refuses, or one that fails on a row, stops the run before it costs anything.
        if (method == FineTuningMethod.Reinforcement && request.Grader is { } runGrader)
        {
            await run.EnterAsync(RunStages.CheckGrader);
            GraderChecked checkedGrader = await context.CallProviderAsync<GraderChecked>(
                RunStages.CheckGrader,
                nameof(CheckGrader),
                new CheckGraderInput(request.DatasetBlob, runGrader)
            );
            if (checkedGrader.Problem is { } graderProblem)
            {
                return await run.EndAsync(RunStatus.Failed, graderProblem + " Nothing was uploaded.");
            }
        }

        // 3. Split.
        await run.EnterAsync(RunStages.Split);
        SplitSummary split = await context.CallActivityAsync<SplitSummary>(
            nameof(SplitDataset),
            new SplitInput(
                runId,
                request.DatasetBlob,
                settings,
                request.TrainRatio,
                request.StratifyBy,
                request.SplitSeed,
                request.IncludeGeneratedInValidation,
                plan.ETag,
                plan.Bytes,
                request.ValidationBlob,
                request.HeldOutRatio,
                request.TestBlob
            ),
            Retries.Transient
        );
        if (split.Problem is { } unusable)
        {
            // The user's validation file is not fit, or shares examples with the dataset: nothing is uploaded.
            return await run.EndAsync(RunStatus.Failed, unusable);
        }

        run.Record(r => r with { TrainRows = split.TrainRows, ValidationRows = split.ValidationRows, TestRows = split.TestRows });
        if (split.TrainRows < request.MinExamples)
        {
            // Validation counted every distinct example; the provider counts the training file's.
            return await run.EndAsync(
                RunStatus.Failed,
                $"The split leaves {split.TrainRows} training examples and the provider needs at least {request.MinExamples}: "
                    + "add examples, or raise trainRatio."
            );
        }

        // 4. Upload, and wait until the provider has processed the files.
        await run.EnterAsync(RunStages.UploadFiles);
        ProviderFile train = await context.CallProviderAsync<ProviderFile>(RunStages.UploadFiles, nameof(UploadFile), split.TrainBlob);
        signals.ThrowIfCancelled();
        ProviderFile? valid =
            split.ValidationRows > 0
                ? await context.CallProviderAsync<ProviderFile>(RunStages.UploadFiles, nameof(UploadFile), split.ValidationBlob)
                : null;
        if (await WaitForFilesAsync(context, signals, request.PollInterval, valid is null ? [train] : [train, valid]) is { } unprocessed)
        {
            return await run.EndAsync(
                RunStatus.Failed,
                $"The provider could not process {unprocessed.FileName}: {unprocessed.StatusDetails ?? unprocessed.Status}."
            );
        }

        // 5. Submit exactly once (a cancel that arrives meanwhile cancels the job it created).
        await run.EnterAsync(RunStages.SubmitJob);
        var jobRequest = new JobRequest(
            runId,
            validation.Model,
            train.Id,
            valid?.Id,
            method,
            request.Suffix,
            request.Seed,
            request.Hyperparameters,
            request.Grader
        );
        JobSnapshot job = await context.CallProviderAsync<JobSnapshot>(RunStages.SubmitJob, nameof(SubmitJob), jobRequest);
        run.Record(r => r with { JobId = job.JobId, JobStatus = job.Status });

        // 6. Follow the job to its end.
        await run.EnterAsync(RunStages.Monitor);
        MonitorResult monitored = await FollowJobAsync(context, request, run, signals, job);
        job = monitored.Job;
        run.Record(r => r with { JobStatus = job.Status });
        if (monitored.TimedOut)
        {
            return await run.EndAsync(
                RunStatus.Failed,
                $"Timed out: the job was not finished at the deadline ({request.Deadline}); it was cancelled."
            );
        }

        if (job.Status != JobStatuses.Succeeded || job.FineTunedModel is null)
        {
            return await run.EndAsync(
                job.Status == JobStatuses.Cancelled ? RunStatus.Cancelled : RunStatus.Failed,
                job.Error ?? $"The job ended {job.Status}."
            );
        }

        // 7-8. Results, then the registry row with lineage.
        await run.EnterAsync(RunStages.CollectResults);
        ResultsSummary results = await context.CallProviderAsync<ResultsSummary>(
            RunStages.CollectResults,
            nameof(CollectResults),
            new CollectResultsInput(runId, job.JobId, method.ToWireName())
        );
        // 8. The held-out evaluation against the base model, when asked for (and something was held out).
        EvaluationDigest? evaluation = null;
        if (request.Evaluate && split is { TestBlob: { } testBlob, TestRows: > 0 })
        {
            await run.EnterAsync(RunStages.Evaluate);
            // On Azure OpenAI the fine-tuned model answers through a short-lived Developer deployment, removed afterwards.
            DeploymentState? answering = await DeployAsync(
                context,
                signals,
                request.PollInterval,
                DeploymentName(request, runId, job.FineTunedModel, "eval"),
                job.FineTunedModel,
                forEvaluation: true
            );
            if (answering is { Succeeded: false })
            {
                return await run.EndAsync(
                    RunStatus.Failed,
                    $"The evaluation's deployment {answering.Name} did not succeed ({answering.ProvisioningState}"
                        + $"{(answering.Error is { } e ? $": {e}" : "")}); nothing was evaluated and the model is not registered."
                );
            }

            try
            {
                evaluation = await EvaluateAsync(
                    context,
                    signals,
                    new EvaluationInput(
                        runId,
                        testBlob,
                        request.StratifyBy,
                        validation.Model,
                        answering?.Name ?? job.FineTunedModel,
                        request.JudgeModel,
                        request.MaxEvalRows,
                        request.SplitSeed,
                        request.Promotion ?? new PromotionPolicy(),
                        // Reinforcement rows are scored by the run's own grader; the others by the evaluation grader the
                        // request gives, else by the judge, against their reference.
                        method == FineTuningMethod.Reinforcement
                            ? request.Grader
                            : request.EvalGrader,
                        GraderOnReference: method != FineTuningMethod.Reinforcement && request.EvalGrader is not null
                    )
                );
            }
            finally
            {
                if (answering is not null)
                    await context.CallProviderAsync<bool>(RunStages.Evaluate, nameof(RemoveDeployment), answering.Name);
            }

            run.Record(r => r with { Evaluation = evaluation });
            context.Log(
                new ModelEvaluated(
                    runId,
                    job.FineTunedModel,
                    evaluation.Outcome.ToString(),
                    evaluation.ImprovementPercent,
                    evaluation.WinRate,
                    evaluation.Passed
                )
            );
        }

        // 9. The registry row with lineage: a candidate, or rejected with the policy's reasons.
        await run.EnterAsync(RunStages.RegisterModel);
        bool rejected = evaluation is { Passed: false };
        string stage = rejected ? ModelStages.Rejected : ModelStages.Candidate;
        string why =
            evaluation is null ? "registered without a held-out evaluation"
            : rejected ? "did not pass the promotion policy: " + string.Join("; ", evaluation.Reasons)
            : $"passed the promotion policy ({evaluation.Advice})";
        var model = new ModelRow
        {
            ModelId = job.FineTunedModel,
            Name = request.Name ?? request.Suffix ?? validation.Model,
            Stage = stage,
            StageHistory = [new StageChange(stage, context.CurrentUtcDateTime, Workflow, why)],
            Evaluation = evaluation,
            BaseModel = validation.Model,
            Method = method.ToWireName(),
            RunId = runId,
            JobId = job.JobId,
            EstimatedCostUsd = validation.Estimate?.EstimatedCostUsd,
            // What the job used, as the provider reports it; what was asked when it reports nothing.
            Hyperparameters = (job.Hyperparameters ?? request.Hyperparameters) is { } used ? ReportSerializer.Serialize(used) : null,
            Seed = request.Seed,
            FileIds = valid is null ? [train.Id] : [train.Id, valid.Id],
            DatasetBlob = request.DatasetBlob,
            DatasetETag = plan.ETag,
            DatasetContentHash = plan.ContentHash,
            SplitSeed = request.SplitSeed,
            TrainRatio = request.TrainRatio,
            TestRatio = request.HeldOutRatio,
            StratifyBy = request.StratifyBy,
            Grader = request.Grader is { } grader ? ReportSerializer.Serialize(grader) : null,
            TrainRowsByTopic = split.TrainRowsByTopic,
            SplitFileHashes = split.FileHashes ?? new Dictionary<string, string>(),
            Metrics = results.Final is double final
                ? new Dictionary<string, double> { [results.Metric] = final }
                : new Dictionary<string, double>(),
            Outcome = results.Outcome,
            TrainingWarnings = results.Warnings,
            RegisteredAt = context.CurrentUtcDateTime,
        };
        await context.CallActivityAsync<bool>(nameof(RegisterModel), model, Retries.Transient);
        run.Record(r => r with { ModelId = job.FineTunedModel });
        if (evaluation is null)
        {
            return await run.EndAsync(RunStatus.Succeeded, null, job.FineTunedModel);
        }

        if (rejected)
        {
            return await run.EndAsync(RunStatus.Rejected, $"The fine-tuned model {why}. It is registered as rejected and not deployed.");
        }

        // 10-11. Approval (a person's, or automatic), then deploy and promote to production.
        return await PromoteAsync(context, request, run, signals, job.FineTunedModel);
    }

    /// <summary>Waits on durable timers until the provider has processed every file; returns the first it could not process.</summary>
    private static async Task<ProviderFile?> WaitForFilesAsync(
        IOrchestrationContext context,
        RunSignals signals,
        TimeSpan pollInterval,
        ProviderFile[] files
    )
    {
        foreach (ProviderFile file in files)
        {
            ProviderFile current = file;
            for (int check = 0; current.Status != "processed"; check++)
            {
                if (current.Status == "error" || check == Polling.MaxFileChecks)
                {
                    return current;
                }

                await signals.DelayAsync(Polling.FileCheck(pollInterval));
                current = await context.CallProviderAsync<ProviderFile>(RunStages.UploadFiles, nameof(GetFileStatus), file.Id);
            }
        }

        return null;
    }

    /// <summary>
    /// Follows the job in a child orchestration (its history stays bounded on long jobs), racing the run's events: a
    /// cancel ends the run (its job is cancelled), a pause or a resume is passed to the provider and the run goes on.
    /// </summary>
    private static async Task<MonitorResult> FollowJobAsync(
        IOrchestrationContext context,
        RunRequest request,
        RunLedger run,
        RunSignals signals,
        JobSnapshot job
    )
    {
        Task<MonitorResult> monitor = context.CallSubOrchestratorAsync<MonitorResult>(
            JobMonitor.Name,
            JobMonitor.InstanceIdFor(context.InstanceId),
            new MonitorInput(run.Row, job, run.Started + request.Deadline, request.PollInterval)
        );
        Task<bool> pause = signals.Next(PauseEvent);
        Task<bool> resume = signals.Next(ResumeEvent);
        while (true)
        {
            Task done = await Task.WhenAny(monitor, signals.Cancel, pause, resume);
            if (done == monitor)
            {
                return await monitor;
            }

            signals.ThrowIfCancelled();
            string activity = done == pause ? nameof(PauseJob) : nameof(ResumeJob);
            if (done == pause)
                pause = signals.Next(PauseEvent);
            else
                resume = signals.Next(ResumeEvent);
            JobSnapshot changed;
            try
            {
                changed = await context.CallActivityAsync<JobSnapshot>(activity, job.JobId, Retries.Transient);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A pause or resume the provider refuses does not end the run: the job goes on as it was.
                context.Log(new JobControlNotApplied(context.InstanceId, job.JobId, activity, ex.Message));
                continue;
            }

            if (changed.Status != run.Row.JobStatus)
            {
                await run.JobStatusAsync(changed.Status);
            }
            else
            {
                context.Log(new JobControlNotApplied(context.InstanceId, job.JobId, activity, $"the job is {changed.Status}"));
            }
        }
    }

    /// <summary>After a failure, cancels the run's job unless it has ended; says what became of it.</summary>
    private static async Task<string> CancelLeftoverJobAsync(IOrchestrationContext context, RunLedger run)
    {
        if (run.Row.JobId is not { } jobId || JobStatuses.IsFinal(run.Row.JobStatus))
        {
            return "";
        }

        try
        {
            JobSnapshot cancelled = await context.CallProviderAsync<JobSnapshot>(run.Row.Stage, nameof(CancelJob), jobId);
            run.Record(r => r with { JobStatus = cancelled.Status });
            return $" The provider job {jobId} was cancelled.";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return $" The provider job {jobId} could not be cancelled ({ex.Message}): cancel it at the provider.";
        }
    }

    /// <summary>Why a run's estimate does not fit its budget (over it, or no total to hold against it); null when it fits.</summary>
    internal static string? BudgetProblem(Estimation.CostEstimate? estimate, decimal budget, EvaluationEstimate? evaluation = null) =>
        (estimate?.EstimatedCostUsd, evaluation) switch
        {
            (decimal training, { CostUsd: decimal evaluating }) when training + evaluating > budget =>
                $"The estimate, ${training:0.00} to train and ${evaluating:0.00} to evaluate {evaluation.Rows:N0} held-out rows "
                    + $"(${training + evaluating:0.00} in all), is over the budget of ${budget:0.00##}: raise the budget, "
                    + "evaluate fewer rows "
                    + "(maxEvalRows), train fewer epochs, or use fewer or shorter examples.",
            _ => TrainingBudgetProblem(estimate, budget),
        };

    private static string? TrainingBudgetProblem(Estimation.CostEstimate? estimate, decimal budget) =>
        estimate?.EstimatedCostUsd switch
        {
            null => $"The budget is ${budget:0.00##}, but this job has no estimated total to hold against it (no price per token is "
                + $"known for {estimate?.Model}, or it is billed per training hour); run without a budget to go ahead.",
            decimal cost when cost > budget => $"The estimate, ${cost:0.00} ({estimate!.TrainedExamples:N0} training examples × "
                + $"{estimate.Epochs} epochs, {estimate.BilledTokens:N0} tokens at ${estimate.PricePerMillionTokens}/M), is over the "
                + $"budget of ${budget:0.00##}: raise the budget, train fewer epochs, or use fewer or shorter examples.",
            _ => null,
        };
}

using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Workflow;

/// <summary>The second half of the run: the held-out evaluation, the approval gate, the deploy and the promotion.</summary>
public static partial class FineTuningOrchestrator
{
    /// <summary>Who a stage change is by when the workflow makes it on its own.</summary>
    public const string Workflow = "workflow";

    /// <summary>
    /// Plans the held-out rows, evaluates them a batch per activity (the history holds one activity per batch, never one
    /// per row; each row's answers go to a blob before the next is asked), then reports on them.
    /// </summary>
    private static async Task<EvaluationDigest> EvaluateAsync(IOrchestrationContext context, RunSignals signals, EvaluationInput input)
    {
        EvaluationPlan plan = await context.CallActivityAsync<EvaluationPlan>(nameof(PlanEvaluation), input, Retries.Transient);
        foreach (EvaluationBatch batch in plan.Batches)
        {
            signals.ThrowIfCancelled();
            context.SetCustomStatus(new RunProgress(RunStages.Evaluate, Step: batch.First, TotalSteps: plan.Rows));
            await context.CallProviderAsync<BatchEvaluated>(
                RunStages.Evaluate,
                nameof(EvaluateBatch),
                new EvaluateBatchInput(
                    input.RunId,
                    plan.RowsBlob,
                    batch,
                    input.TopicField,
                    plan.Models,
                    plan.Concurrency,
                    input.Grader,
                    input.GraderOnReference
                )
            );
        }

        signals.ThrowIfCancelled();
        return await context.CallActivityAsync<EvaluationDigest>(
            nameof(ReportEvaluation),
            new ReportEvaluationInput(
                input.RunId,
                plan.RowsBlob,
                plan.HeldOutRows,
                plan.Models,
                input.Policy,
                input.Grader is not null,
                input.GraderOnReference
            ),
            Retries.Transient
        );
    }

    /// <summary>
    /// A model that passed its evaluation: waits for a person's approval (an <c>approve</c> or <c>reject</c> event raced
    /// with a durable timer and the cancel event) unless the request says <c>auto</c>, then deploys it and makes it the
    /// production model of its name.
    /// </summary>
    private static async Task<RunOutcome> PromoteAsync(
        IOrchestrationContext context,
        RunRequest request,
        RunLedger run,
        RunSignals signals,
        string modelId
    )
    {
        Decision approval = new(Workflow, "approval: auto, and the model passed the promotion policy");
        if (request.Approval != "auto")
        {
            run.Record(r => r with { Status = RunStatus.AwaitingApproval });
            await run.EnterAsync(RunStages.AwaitApproval);
            DateTime deadline = context.CurrentUtcDateTime + request.ApprovalTimeout;
            using var timeout = new CancellationTokenSource();
            Task expired = context.CreateTimer(deadline, timeout.Token);
            Task<Decision> approve = signals.Next<Decision>(ApproveEvent);
            Task<Decision> reject = signals.Next<Decision>(RejectEvent);
            Task first = await Task.WhenAny(approve, reject, signals.Cancel, expired);
            if (first != expired)
            {
                timeout.Cancel();
            }

            run.Record(r => r with { Status = RunStatus.Running });
            signals.ThrowIfCancelled();
            if (first == expired)
            {
                return await run.EndAsync(
                    RunStatus.NotApproved,
                    $"No approval within {request.ApprovalTimeout.TotalDays:0.##} days: the model {modelId} stays a candidate. "
                        + $"Promote it with 'finetune promote {modelId}' (POST /api/models/{{id}}/promote) when it should ship."
                );
            }

            if (first == reject)
            {
                Decision no = await reject;
                await ChangeStageAsync(context, modelId, ModelStages.Rejected, no);
                return await run.EndAsync(
                    RunStatus.Rejected,
                    $"Rejected by {no.By ?? "an unnamed reviewer"}{(no.Why is { } why ? $": {why}" : "")}. The model is not deployed."
                );
            }

            approval = await approve;
        }

        // On Azure OpenAI a deployment of the model, live before it is production; on OpenAI (and the emulator without an
        // account) a fine-tuned model answers by its id at once: there is nothing to deploy.
        await run.EnterAsync(RunStages.Deploy);
        DeploymentState? deployment = await DeployAsync(
            context,
            signals,
            request.PollInterval,
            DeploymentName(request, context.InstanceId, modelId),
            modelId,
            false
        );
        if (deployment is { Succeeded: false })
        {
            return await run.EndAsync(
                RunStatus.Failed,
                $"The deployment {deployment.Name} of {modelId} did not succeed ({deployment.ProvisioningState}"
                    + $"{(deployment.Error is { } e ? $": {e}" : "")}); the model stays a candidate."
            );
        }

        await MakeProductionAsync(context, modelId, approval, deployment?.Name);
        return await run.EndAsync(RunStatus.Succeeded, null, modelId);
    }

    /// <summary>
    /// Makes a model whose deployment is live (or that needs none) the production model of its name, then removes the
    /// deployments of the models it replaced: the end of a run's Deploy stage and of <see cref="ModelPromotion"/>.
    /// </summary>
    internal static async Task MakeProductionAsync(IOrchestrationContext context, string modelId, Decision decision, string? deployment)
    {
        StageChanged promoted = await ChangeStageAsync(context, modelId, ModelStages.Production, decision, deployment);
        foreach (string retired in promoted.RetiredDeployments)
        {
            await context.CallProviderAsync<bool>(RunStages.Deploy, nameof(RemoveDeployment), retired);
        }
    }

    /// <summary>
    /// Deploys the model and waits on durable timers (the poll interval, doubling to 5 minutes) until the deployment
    /// succeeds or fails, at most <see cref="Polling.MaxDeploymentWait"/>; null when the host has nothing to deploy.
    /// </summary>
    internal static async Task<DeploymentState?> DeployAsync(
        IOrchestrationContext context,
        RunSignals signals,
        TimeSpan pollInterval,
        string name,
        string modelId,
        bool forEvaluation
    )
    {
        string stage = forEvaluation ? RunStages.Evaluate : RunStages.Deploy;
        DeploymentState? state = await context.CallProviderAsync<DeploymentState?>(
            stage,
            nameof(DeployModel),
            new DeployInput(name, modelId, forEvaluation)
        );
        DateTime giveUp = context.CurrentUtcDateTime + Polling.MaxDeploymentWait;
        TimeSpan wait = pollInterval;
        while (state is { Succeeded: false, Failed: false })
        {
            if (context.CurrentUtcDateTime >= giveUp)
                return state with { Error = $"not ready after {Polling.MaxDeploymentWait.TotalHours:0.#} hours" };
            context.SetCustomStatus(new RunProgress(stage) { Waiting = $"the deployment {name} is {state.ProvisioningState}" });
            await signals.DelayAsync(wait);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
            state = await context.CallProviderAsync<DeploymentState?>(stage, nameof(GetDeployment), name)
                ?? state with
                {
                    ProvisioningState = DeploymentStates.Deleting,
                    Error = "it was removed while it was being created",
                };
        }

        return state;
    }

    /// <summary>A deployment's name: the registry name and the run, in the characters Azure allows (at most 64).</summary>
    internal static string DeploymentName(RunRequest request, string runId, string modelId, string? purpose = null) =>
        DeploymentName(request.Name ?? request.Suffix ?? modelId.Split(':').ElementAtOrDefault(1) ?? "model", runId, purpose);

    /// <summary>A deployment's name from a registry name and the run that trained the model.</summary>
    internal static string DeploymentName(string name, string runId, string? purpose = null)
    {
        string safe = new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]);
        string run = runId.StartsWith("run-", StringComparison.Ordinal) ? runId[4..] : runId;
        string tail = "-" + run[..Math.Min(8, run.Length)] + (purpose is null ? "" : "-" + purpose);
        return safe[..Math.Min(safe.Length, 64 - tail.Length)] + tail;
    }

    private static Task<StageChanged> ChangeStageAsync(
        IOrchestrationContext context,
        string modelId,
        string stage,
        Decision decision,
        string? deployment = null
    ) =>
        context.CallActivityAsync<StageChanged>(
            nameof(ChangeModelStage),
            new ModelStageInput(modelId, stage, context.CurrentUtcDateTime, decision.By ?? "unnamed", decision.Why)
            {
                Deployment = deployment,
            },
            Retries.Transient
        );
}

using FineTuning.Core.Evaluation;
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
                new EvaluateBatchInput(input.RunId, plan.RowsBlob, batch, input.TopicField, plan.Models, plan.Concurrency, input.Grader)
            );
        }

        signals.ThrowIfCancelled();
        return await context.CallActivityAsync<EvaluationDigest>(
            nameof(ReportEvaluation),
            new ReportEvaluationInput(input.RunId, plan.RowsBlob, plan.HeldOutRows, plan.Models, input.Policy, input.Grader is not null),
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

        // On OpenAI (and the emulator) a fine-tuned model answers by its id at once: there is nothing to deploy.
        await run.EnterAsync(RunStages.Deploy);
        await ChangeStageAsync(context, modelId, ModelStages.Production, approval);
        return await run.EndAsync(RunStatus.Succeeded, null, modelId);
    }

    private static Task<string> ChangeStageAsync(IOrchestrationContext context, string modelId, string stage, Decision decision) =>
        context.CallActivityAsync<string>(
            nameof(ChangeModelStage),
            new ModelStageInput(modelId, stage, context.CurrentUtcDateTime, decision.By ?? "unnamed", decision.Why),
            Retries.Transient
        );
}

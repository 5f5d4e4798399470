using FineTuning.Core.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace FineTuning.Functions.Orchestrators;

/// <summary>Core's orchestrators on Durable Functions: the run, and the job monitor it runs as a child.</summary>
public static class FineTuningOrchestration
{
    [Function(nameof(FineTuningOrchestrator))]
    public static Task<RunOutcome> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context) =>
        FineTuningOrchestrator.RunAsync(
            new DurableOrchestrationContext(context),
            context.GetInput<RunRequest>()
                ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} was started without a RunRequest.")
        );

    [Function(ModelPromotion.Name)]
    public static Task<PromotionOutcome> PromoteAsync([OrchestrationTrigger] TaskOrchestrationContext context) =>
        ModelPromotion.RunAsync(
            new DurableOrchestrationContext(context),
            context.GetInput<PromotionRequest>()
                ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} was started without a PromotionRequest.")
        );

    [Function(JobMonitor.Name)]
    public static Task<MonitorResult> MonitorAsync([OrchestrationTrigger] TaskOrchestrationContext context) =>
        JobMonitor.RunAsync(
            new DurableOrchestrationContext(context),
            context.GetInput<MonitorInput>()
                ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} was started without a MonitorInput.")
        );
}

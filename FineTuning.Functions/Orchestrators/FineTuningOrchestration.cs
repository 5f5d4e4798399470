using FineTuning.Core.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace FineTuning.Functions.Orchestrators;

/// <summary>The one orchestrator function: Core's orchestrator on Durable Functions.</summary>
public static class FineTuningOrchestration
{
    [Function(nameof(FineTuningOrchestrator))]
    public static Task<RunOutcome> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context) =>
        FineTuningOrchestrator.RunAsync(new DurableOrchestrationContext(context), context.GetInput<RunRequest>()
            ?? throw new InvalidOperationException($"Orchestration {context.InstanceId} was started without a RunRequest."));
}

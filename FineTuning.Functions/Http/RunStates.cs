using FineTuning.Core.Api;
using FineTuning.Core.Workflow;
using Microsoft.DurableTask.Client;

namespace FineTuning.Functions.Http;

/// <summary>Where a run stands, read from its Durable instance, for <see cref="RunApi.ChooseAttemptAsync"/>.</summary>
internal static class RunStates
{
    public static async Task<RunApi.AttemptState> OfAsync(DurableTaskClient client, string runId, CancellationToken cancellationToken) =>
        await client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken) switch
        {
            null => RunApi.AttemptState.Absent,
            { RuntimeStatus: OrchestrationRuntimeStatus.Completed } done
                when done.ReadOutputAs<RunOutcome>() is { Status: RunStatus.Succeeded } => RunApi.AttemptState.Succeeded,
            {
                RuntimeStatus: OrchestrationRuntimeStatus.Completed
                    or OrchestrationRuntimeStatus.Failed
                    or OrchestrationRuntimeStatus.Terminated
            } => RunApi.AttemptState.Ended,
            _ => RunApi.AttemptState.InProgress,
        };
}

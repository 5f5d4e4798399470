using FineTuning.Core.Providers;
using FineTuning.Core.Workflow;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace FineTuning.Functions.Orchestrators;

/// <summary>Durable Functions' orchestration context seen through Core's port.</summary>
internal sealed class DurableOrchestrationContext(TaskOrchestrationContext context) : IOrchestrationContext
{
    private readonly ILogger _log = context.CreateReplaySafeLogger(WorkflowLog.Category);

    public string InstanceId => context.InstanceId;

    public DateTime CurrentUtcDateTime => context.CurrentUtcDateTime;

    public bool IsReplaying => context.IsReplaying;

    public async Task<T> CallActivityAsync<T>(string name, object? input = null, Core.Workflow.RetryPolicy? retry = null)
    {
        try
        {
            return await Call<T>(name, input, retry);
        }
        catch (TaskFailedException failed)
            when (ProviderBusyException.FromFailure(failed.FailureDetails.ErrorType, failed.FailureDetails.ErrorMessage) is { } busy)
        {
            // The orchestrator waits as long as the provider asked (ProviderCalls): it sees the activity's exception as itself.
            throw busy;
        }
    }

    private Task<T> Call<T>(string name, object? input, Core.Workflow.RetryPolicy? retry) =>
        context.CallActivityAsync<T>(
            name,
            input,
            retry is null
                ? null
                : TaskOptions.FromRetryPolicy(
                    new Microsoft.DurableTask.RetryPolicy(
                        maxNumberOfAttempts: retry.MaxNumberOfAttempts,
                        firstRetryInterval: retry.FirstRetryInterval,
                        backoffCoefficient: retry.BackoffCoefficient,
                        maxRetryInterval: retry.MaxRetryInterval
                    )
                    {
                        HandleFailure = failure => retry.ShouldRetry(failure.ErrorType),
                    }
                )
        );

    public Task<T> CallSubOrchestratorAsync<T>(string name, string instanceId, object? input = null) =>
        context.CallSubOrchestratorAsync<T>(name, input, new SubOrchestrationOptions(instanceId: instanceId));

    public void ContinueAsNew(object? input) => context.ContinueAsNew(input, preserveUnprocessedEvents: true);

    public Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken) => context.CreateTimer(fireAt, cancellationToken);

    public Task<T> WaitForExternalEvent<T>(string name, CancellationToken cancellationToken = default) =>
        context.WaitForExternalEvent<T>(name, cancellationToken);

    public void SetCustomStatus(object? status) => context.SetCustomStatus(status);

    public void Log(WorkflowEvent entry) => _log.Write(entry);
}

namespace FineTuning.Core.Workflow;

/// <summary>
/// The orchestrator's only view of the world, with the semantics of Durable Functions' <c>TaskOrchestrationContext</c>:
/// the orchestrator is replayed, so it must be deterministic (time from <see cref="CurrentUtcDateTime"/>, no I/O, no
/// random ids), and everything it passes or gets back round-trips through System.Text.Json.
/// </summary>
public interface IOrchestrationContext
{
    string InstanceId { get; }

    DateTime CurrentUtcDateTime { get; }

    bool IsReplaying { get; }

    Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null);

    /// <summary>Runs another orchestrator as a child with its own history and instance id; its failure is this task's failure.</summary>
    Task<T> CallSubOrchestratorAsync<T>(string name, string instanceId, object? input = null);

    /// <summary>
    /// Ends this execution and starts the orchestrator again with <paramref name="input"/> and an empty history
    /// (unprocessed events are kept); the orchestrator returns right after.
    /// </summary>
    void ContinueAsNew(object? input);

    Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    Task<T> WaitForExternalEvent<T>(string name, CancellationToken cancellationToken = default);

    void SetCustomStatus(object? status);

    /// <summary>
    /// Writes an event to the host's log (its template and fields) while the orchestrator runs live and nothing while it
    /// replays (Durable's replay-safe logger), so each is written once.
    /// </summary>
    void Log(WorkflowEvent entry);
}

/// <summary>How much a line of an orchestrator's log matters.</summary>
public enum OrchestrationLogLevel
{
    Information,
    Warning,
    Error,
}

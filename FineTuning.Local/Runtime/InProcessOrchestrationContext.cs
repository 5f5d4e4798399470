using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Workflow;

namespace FineTuning.Local.Runtime;

/// <summary>
/// Runs an orchestration in this process, in real time: activities are called through JSON as a durable host calls
/// them, retries and timers wait on the clock, events are raised by the host. It keeps no history, so a run that
/// is stopped is not resumed; the embedded durable runtime (SQLite history and replay) is still to come.
/// </summary>
public sealed class InProcessOrchestrationContext(string instanceId, IReadOnlyDictionary<string, ActivityFunction> activities, TimeProvider time, CancellationToken stopping) : IOrchestrationContext
{
    private readonly Dictionary<string, TaskCompletionSource<JsonElement>> _events = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public string InstanceId => instanceId;

    public DateTime CurrentUtcDateTime => time.GetUtcNow().UtcDateTime;

    public bool IsReplaying => false;

    /// <summary>Raised with each custom status the orchestration sets.</summary>
    public event Action<object?>? StatusChanged;

    public async Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null)
    {
        JsonElement payload = JsonSerializer.SerializeToElement(input, ReportSerializer.Options);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                JsonElement result = await activities[name](payload, stopping).ConfigureAwait(false);
                return result.Deserialize<T>(ReportSerializer.Options)!;
            }
            catch (Exception ex) when (retry is not null && attempt < retry.MaxNumberOfAttempts && ex is not OperationCanceledException)
            {
                await Task.Delay(retry.DelayBefore(attempt + 1), time, stopping).ConfigureAwait(false);
            }
        }
    }

    public Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        TimeSpan wait = fireAt - CurrentUtcDateTime;
        return wait <= TimeSpan.Zero ? Task.CompletedTask : Wait(wait, cancellationToken);
    }

    private async Task Wait(TimeSpan wait, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        await Task.Delay(wait, time, linked.Token).ConfigureAwait(false);
    }

    public async Task<T> WaitForExternalEvent<T>(string name, CancellationToken cancellationToken = default)
    {
        JsonElement value = await Event(name).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return value.Deserialize<T>(ReportSerializer.Options)!;
    }

    public void Raise<T>(string name, T value) => Event(name).TrySetResult(JsonSerializer.SerializeToElement(value, ReportSerializer.Options));

    public void SetCustomStatus(object? status) => StatusChanged?.Invoke(status);

    private TaskCompletionSource<JsonElement> Event(string name)
    {
        lock (_gate)
        {
            if (!_events.TryGetValue(name, out TaskCompletionSource<JsonElement>? source))
            {
                _events[name] = source = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return source;
        }
    }
}

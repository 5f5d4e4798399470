using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Workflow;

namespace FineTuning.Tests.Workflow;

/// <summary>
/// Runs an orchestration in one pass for tests: activities are called at once (through JSON, as a durable host would),
/// timers move a manual clock to their fire time, retries wait on that clock, events are raised by the test. It does
/// not replay or persist: that is the embedded runtime's job.
/// </summary>
internal sealed class InlineOrchestrationContext(string instanceId, ManualTimeProvider clock, IReadOnlyDictionary<string, ActivityFunction> activities) : IOrchestrationContext
{
    private readonly Dictionary<string, TaskCompletionSource<JsonElement>> _events = new(StringComparer.Ordinal);

    public string InstanceId => instanceId;

    public DateTime CurrentUtcDateTime => clock.GetUtcNow().UtcDateTime;

    public bool IsReplaying => false;

    public List<string> Calls { get; } = [];

    public List<object?> Statuses { get; } = [];

    /// <summary>Called after every activity, so a test can act at a given point (raise an event, inject a fault).</summary>
    public Action<string>? AfterActivity { get; set; }

    public async Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null)
    {
        JsonElement payload = JsonSerializer.SerializeToElement(input, ReportSerializer.Options);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                Calls.Add(name);
                JsonElement result = await activities[name](payload, CancellationToken.None);
                AfterActivity?.Invoke(name);
                return result.Deserialize<T>(ReportSerializer.Options)!;
            }
            catch (Exception) when (retry is not null && attempt < retry.MaxNumberOfAttempts)
            {
                clock.Advance(retry.DelayBefore(attempt + 1));
            }
        }
    }

    public Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
        if (fireAt > CurrentUtcDateTime) clock.Advance(fireAt - CurrentUtcDateTime);
        return Task.CompletedTask;
    }

    public async Task<T> WaitForExternalEvent<T>(string name, CancellationToken cancellationToken = default)
    {
        JsonElement value = await Event(name).Task.WaitAsync(cancellationToken);
        return value.Deserialize<T>(ReportSerializer.Options)!;
    }

    public void Raise<T>(string name, T value) => Event(name).TrySetResult(JsonSerializer.SerializeToElement(value, ReportSerializer.Options));

    public void SetCustomStatus(object? status) => Statuses.Add(status);

    private TaskCompletionSource<JsonElement> Event(string name)
    {
        if (!_events.TryGetValue(name, out TaskCompletionSource<JsonElement>? source))
        {
            _events[name] = source = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return source;
    }
}

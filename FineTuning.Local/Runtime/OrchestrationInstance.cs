using System.Text.Json;
using System.Threading.Channels;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Workflow;

namespace FineTuning.Local.Runtime;

/// <summary>An orchestrator as the embedded runtime calls it: the context and the input as JSON, the output as JSON.</summary>
public delegate Task<JsonElement> OrchestratorFunction(IOrchestrationContext context, JsonElement input);

/// <summary>An activity failed (after its retries); the orchestrator sees this, as it sees Durable's TaskFailedException.</summary>
public sealed class ActivityFailedException(string activity, string errorType, string? message)
    : Exception($"Activity {activity} failed: {errorType[(errorType.LastIndexOf('.') + 1)..]}: {message}")
{
    public string Activity { get; } = activity;

    /// <summary>The message of the exception the activity threw (Durable's <c>TaskFailureDetails.ErrorMessage</c>).</summary>
    public string? ErrorMessage { get; } = message;

    /// <summary>The full name of the exception the activity threw (Durable's <c>TaskFailureDetails.ErrorType</c>).</summary>
    public string ErrorType { get; } = errorType;

    /// <summary>How a failure is recorded in the history: <c>{"type": ..., "message": ...}</c>.</summary>
    internal static string Record(Exception ex) =>
        JsonSerializer.Serialize(new Failure(ex.GetType().FullName ?? ex.GetType().Name, ex.Message), LocalJsonContext.Default.Failure);

    internal static ActivityFailedException FromRecord(string activity, string? payload)
    {
        Failure? failure = payload is null ? null : JsonSerializer.Deserialize(payload, LocalJsonContext.Default.Failure);
        return new ActivityFailedException(activity, failure?.Type ?? "Exception", failure?.Message);
    }

    internal sealed record Failure(string Type, string Message);
}

/// <summary>A replay scheduled different work than the history records: the orchestrator code changed or is not deterministic.</summary>
public sealed class NonDeterminismException(string instanceId, int step, string recorded, string scheduled)
    : Exception(
        $"Non-deterministic orchestration {instanceId} at step {step}: the history has {recorded}, but the code now schedules {scheduled}. "
            + "Orchestrator code must be deterministic, and a run started by another version of the code must finish on that version (or "
            + "be started again)."
    )
{
    public string InstanceId { get; } = instanceId;

    public int Step { get; } = step;
}

/// <summary>
/// One orchestration instance on the embedded runtime. The orchestrator runs on a single logical thread (a
/// synchronization context this class drains); each task, timer and event it waits for is numbered in the order it
/// is scheduled and recorded in the history before its work starts; results are recorded before they are delivered.
/// After a restart the orchestrator is run again from the start and fed the recorded results in their recorded
/// order (replay), so it reaches the same point with the same state, and work that was in flight is started again.
/// </summary>
internal sealed class OrchestrationInstance : IOrchestrationContext
{
    private readonly DurableRuntime _runtime;
    private readonly OrchestratorFunction _orchestrator;
    private readonly CancellationToken _stopping;
    private readonly Channel<Message> _inbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _ready = new();
    private readonly OrchestrationSynchronizationContext _sync;
    private readonly IReadOnlyList<HistoryEvent> _history;
    private readonly List<HistoryEvent> _scheduled;
    private readonly HashSet<int> _finished;
    private readonly HashSet<long> _offered = [];
    private readonly Dictionary<int, (string Name, TaskCompletionSource<JsonElement> Source)> _tasks = [];
    private readonly Dictionary<int, (TaskCompletionSource Source, ITimer? Timer)> _timers = [];
    private readonly Dictionary<string, Queue<string?>> _buffered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TaskCompletionSource<string?>>> _waiters = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<InstanceState> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<JsonElement>? _orchestration;
    private int _nextTaskId;
    private int _nextSeq;
    private string? _customStatus;
    private bool _customStatusChanged;
    private Exception? _fatal;
    private string? _continueAsNew;
    private bool _heldForNext;

    public OrchestrationInstance(
        DurableRuntime runtime,
        string instanceId,
        OrchestratorFunction orchestrator,
        IReadOnlyList<HistoryEvent> history,
        CancellationToken stopping
    )
    {
        _runtime = runtime;
        InstanceId = instanceId;
        _orchestrator = orchestrator;
        _history = history;
        _stopping = stopping;
        _sync = new OrchestrationSynchronizationContext(this);
        _scheduled = [.. history.Where(e => IsScheduling(e.Kind)).OrderBy(e => e.TaskId)];
        _finished =
        [
            .. history
                .Where(e => e.Kind is HistoryKind.TaskCompleted or HistoryKind.TaskFailed or HistoryKind.TimerFired)
                .Select(e => e.TaskId),
        ];
        _nextSeq = history.Count;
    }

    public string InstanceId { get; }

    public DateTime CurrentUtcDateTime { get; private set; }

    public bool IsReplaying { get; private set; }

    /// <summary>Completes when the orchestration ends (not when the process stops: then it is cancelled).</summary>
    public Task<InstanceState> Completion => _completion.Task;

    /// <summary>Set when the orchestration ended by continuing as new: its next input, and the events it had not taken.</summary>
    public (string Input, IReadOnlyList<(string Name, string? Payload)> Carried)? ContinuedAsNew { get; private set; }

    public Task<T> CallSubOrchestratorAsync<T>(string name, string instanceId, object? input = null) =>
        Convert<T>(ScheduleSubOrchestration(name, instanceId, _runtime.Serialize(input)));

    public void ContinueAsNew(object? input) => _continueAsNew = _runtime.Serialize(input);

    private async Task<T> Convert<T>(Task<JsonElement> task) => _runtime.Deserialize<T>(await task.ConfigureAwait(true));

    private static bool IsScheduling(HistoryKind kind) =>
        kind is HistoryKind.TaskScheduled or HistoryKind.TimerCreated or HistoryKind.SubOrchestrationScheduled;

    public async Task<T> CallActivityAsync<T>(string name, object? input = null, RetryPolicy? retry = null)
    {
        string payload = _runtime.Serialize(input);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                JsonElement result = await ScheduleActivity(name, payload).ConfigureAwait(true);
                return _runtime.Deserialize<T>(result);
            }
            catch (ActivityFailedException ex)
                when (retry is not null && attempt < retry.MaxNumberOfAttempts && retry.ShouldRetry(ex.ErrorType))
            {
                // Retries wait on durable timers, as Durable's do: a restart neither forgets nor repeats the wait.
                await CreateTimer(CurrentUtcDateTime + retry.DelayBefore(attempt + 1), CancellationToken.None).ConfigureAwait(true);
            }
            catch (ActivityFailedException ex) when (ProviderBusyException.FromFailure(ex.ErrorType, ex.ErrorMessage) is { } busy)
            {
                // The orchestrator waits as long as the provider asked (ProviderCalls): it sees the activity's exception as itself.
                throw busy;
            }
        }
    }

    public Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        int id = Schedule(HistoryKind.TimerCreated, "timer", out HistoryEvent? recorded);
        if (recorded is null)
        {
            Record(new HistoryEvent(HistoryKind.TimerCreated, CurrentUtcDateTime, id, "timer", FireAt: fireAt));
        }
        else
        {
            fireAt = recorded.FireAt ?? fireAt;
        }

        var source = new TaskCompletionSource();
        ITimer? timer = _finished.Contains(id) ? null : Arm(id, fireAt);
        _timers[id] = (source, timer);
        if (cancellationToken.CanBeCanceled)
        {
            OnCancel(
                () =>
                {
                    if (_timers.Remove(id, out var cancelled))
                    {
                        cancelled.Timer?.Dispose();
                        cancelled.Source.TrySetCanceled(cancellationToken);
                    }
                },
                cancellationToken
            );
        }

        return source.Task;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the orchestration's thread when <paramref name="token"/> is cancelled: at once
    /// when orchestrator code cancels it (so a cancelled timer is disarmed before the next activity starts), otherwise
    /// as the next step.
    /// </summary>
    private void OnCancel(Action action, CancellationToken token) =>
        token.Register(() =>
        {
            if (SynchronizationContext.Current == _sync)
            {
                action();
            }
            else
            {
                _sync.Post(_ => action(), null);
            }
        });

    public async Task<T> WaitForExternalEvent<T>(string name, CancellationToken cancellationToken = default)
    {
        string? payload;
        if (_buffered.TryGetValue(name, out Queue<string?>? buffered) && buffered.Count > 0)
        {
            payload = buffered.Dequeue();
        }
        else
        {
            var source = new TaskCompletionSource<string?>();
            if (!_waiters.TryGetValue(name, out List<TaskCompletionSource<string?>>? waiters))
            {
                _waiters[name] = waiters = [];
            }

            waiters.Add(source);
            if (cancellationToken.CanBeCanceled)
            {
                OnCancel(
                    () =>
                    {
                        if (waiters.Remove(source))
                        {
                            source.TrySetCanceled(cancellationToken);
                        }
                    },
                    cancellationToken
                );
            }

            payload = await source.Task.ConfigureAwait(true);
        }

        return payload is null ? default! : _runtime.Deserialize<T>(payload);
    }

    public void SetCustomStatus(object? status)
    {
        string? json = status is null ? null : _runtime.Serialize(status);
        if (json != _customStatus)
        {
            _customStatus = json;
            _customStatusChanged = true;
        }
    }

    public void Log(WorkflowEvent entry)
    {
        if (!IsReplaying)
        {
            _runtime.OnLog(InstanceId, entry);
        }
    }

    /// <summary>Offers a raised event from the store's inbox; each is taken once.</summary>
    public void Offer(PendingEvent pending)
    {
        lock (_offered)
        {
            if (!_offered.Add(pending.Id))
            {
                return;
            }
        }

        _inbox.Writer.TryWrite(new Raised(pending));
    }

    /// <summary>Replays the history, then runs live until the orchestration ends or the process stops.</summary>
    public async Task RunAsync()
    {
        try
        {
            try
            {
                Replay();
            }
            finally
            {
                HoldForNextExecution();
                _runtime.WorkDone();
            }

            while (!Ended)
            {
                Message message = await _inbox.Reader.ReadAsync(_stopping).ConfigureAwait(false);
                HistoryEvent? e = message switch
                {
                    Completed completed => Record(completed.Event with { Timestamp = _runtime.Time.GetUtcNow().UtcDateTime }),
                    Raised raised => Move(raised.Pending),
                    _ => null,
                };
                Step(e is null ? null : () => Deliver(e));
                HoldForNextExecution();
                if (message is Completed)
                {
                    _runtime.WorkDone();
                }
                else if (message is Raised raised)
                {
                    _runtime.EventTaken(raised.Pending.Id);
                }
            }

            Finish();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            Stop();
        }
        catch (Exception ex)
        {
            // A failure of the runtime itself (the store is unreachable, say): the history stays as it was and the
            // instance resumes on the next start.
            DisarmTimers();
            _completion.TrySetException(ex);
        }
    }

    private bool Ended => _fatal is not null || _orchestration is { IsCompleted: true };

    private bool ContinuesAsNew => _fatal is null && _continueAsNew is not null && _orchestration is { IsCompletedSuccessfully: true };

    /// <summary>
    /// When this execution has ended, counts what follows (the next execution's start, or telling a parent) as work
    /// before this step's work is done, so the runtime never looks idle in between; the runtime releases it.
    /// </summary>
    private void HoldForNextExecution()
    {
        if (Ended && !_heldForNext)
        {
            _heldForNext = true;
            _runtime.WorkStarted();
        }
    }

    private void Replay()
    {
        // A step is a replay when the history holds something recorded after it ran: what it scheduled, or a later
        // result. (Events a ContinueAsNew carried over were recorded before the execution's first step.)
        HistoryEvent started = _history[0];
        int lastDelivered = -1,
            lastRecorded = 0;
        for (int i = 1; i < _history.Count; i++)
        {
            if (!IsScheduling(_history[i].Kind))
            {
                lastDelivered = i;
            }

            if (!_history[i].IsCarriedOver)
            {
                lastRecorded = i;
            }
        }

        IsReplaying = lastRecorded > 0;
        CurrentUtcDateTime = started.Timestamp;
        Step(() => _orchestration = Start(started.Payload));
        for (int i = 1; i <= lastDelivered && !Ended; i++)
        {
            HistoryEvent e = _history[i];
            if (IsScheduling(e.Kind))
            {
                continue;
            }

            IsReplaying = i < lastRecorded;
            Step(() => Deliver(e));
        }

        IsReplaying = false;
    }

    private async Task<JsonElement> Start(string? input)
    {
        using JsonDocument document = JsonDocument.Parse(input ?? "null");
        return await _orchestrator(this, document.RootElement.Clone()).ConfigureAwait(true);
    }

    /// <summary>Runs one step on the orchestration's thread: an action, then every continuation it made ready.</summary>
    private void Step(Action? action)
    {
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(_sync);
        try
        {
            if (action is not null && _fatal is null)
            {
                action();
            }

            while (_fatal is null && TryDequeue(out var ready))
            {
                ready.Callback(ready.State);
            }
        }
        catch (NonDeterminismException ex)
        {
            _fatal ??= ex;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        if (_customStatusChanged)
        {
            _customStatusChanged = false;
            _runtime.Store.SetCustomStatus(InstanceId, _customStatus, _runtime.Time.GetUtcNow().UtcDateTime);
            if (!IsReplaying)
            {
                _runtime.OnCustomStatus(InstanceId, _customStatus);
            }
        }
    }

    private void Deliver(HistoryEvent e)
    {
        CurrentUtcDateTime = e.Timestamp;
        switch (e.Kind)
        {
            case HistoryKind.TaskCompleted or HistoryKind.TaskFailed:
                if (!_tasks.Remove(e.TaskId, out var task))
                {
                    throw new NonDeterminismException(InstanceId, e.TaskId, $"a result of activity {e.Name}", "no such activity");
                }

                using (JsonDocument document = JsonDocument.Parse(e.Kind == HistoryKind.TaskCompleted ? e.Payload ?? "null" : "null"))
                {
                    if (e.Kind == HistoryKind.TaskCompleted)
                    {
                        task.Source.TrySetResult(document.RootElement.Clone());
                    }
                    else
                    {
                        task.Source.TrySetException(ActivityFailedException.FromRecord(task.Name, e.Payload));
                    }
                }

                break;
            case HistoryKind.TimerFired:
                if (_timers.Remove(e.TaskId, out var timer))
                {
                    timer.Source.TrySetResult();
                }

                break;
            case HistoryKind.EventRaised:
                if (_waiters.TryGetValue(e.Name!, out var waiters) && waiters.Count > 0)
                {
                    TaskCompletionSource<string?> waiter = waiters[0];
                    waiters.RemoveAt(0);
                    waiter.TrySetResult(e.Payload);
                }
                else
                {
                    if (!_buffered.TryGetValue(e.Name!, out Queue<string?>? queue))
                    {
                        _buffered[e.Name!] = queue = new Queue<string?>();
                    }

                    queue.Enqueue(e.Payload);
                }

                break;
        }
    }

    private Task<JsonElement> ScheduleActivity(string name, string input)
    {
        int id = Schedule(HistoryKind.TaskScheduled, name, out HistoryEvent? recorded);
        var source = new TaskCompletionSource<JsonElement>();
        _tasks[id] = (name, source);
        if (recorded is null)
        {
            Record(new HistoryEvent(HistoryKind.TaskScheduled, CurrentUtcDateTime, id, name, input));
            Dispatch(id, name, input);
        }
        else if (!_finished.Contains(id))
        {
            // Scheduled before the process stopped, never finished: run it again (activities run at least once).
            Dispatch(id, name, recorded.Payload ?? "null");
        }

        return source.Task;
    }

    private Task<JsonElement> ScheduleSubOrchestration(string name, string childId, string input)
    {
        int id = Schedule(HistoryKind.SubOrchestrationScheduled, name, out HistoryEvent? recorded);
        var source = new TaskCompletionSource<JsonElement>();
        _tasks[id] = (name, source);
        if (recorded is null)
        {
            Record(
                new HistoryEvent(
                    HistoryKind.SubOrchestrationScheduled,
                    CurrentUtcDateTime,
                    id,
                    name,
                    JsonSerializer.Serialize(new ChildStart(childId, input), LocalJsonContext.Default.ChildStart)
                )
            );
            _runtime.StartChild(this, id, name, childId, input);
        }
        else if (!_finished.Contains(id))
        {
            ChildStart start = JsonSerializer.Deserialize(recorded.Payload!, LocalJsonContext.Default.ChildStart)!;
            _runtime.StartChild(this, id, name, start.InstanceId, start.Input);
        }

        return source.Task;
    }

    /// <summary>A child orchestration ended: its result reaches this one as a task result (counted as work until recorded).</summary>
    internal void ChildEnded(int taskId, string name, InstanceState child) =>
        _inbox.Writer.TryWrite(
            new Completed(
                child is { Status: InstanceStatus.Completed }
                    ? new HistoryEvent(HistoryKind.TaskCompleted, default, taskId, name, child.Output)
                    : new HistoryEvent(
                        HistoryKind.TaskFailed,
                        default,
                        taskId,
                        name,
                        ActivityFailedException.Record(
                            new InvalidOperationException($"Orchestration {child.InstanceId} failed: {child.Failure}")
                        )
                    )
            )
        );

    internal sealed record ChildStart(string InstanceId, string Input);

    /// <summary>Numbers the next task or timer and checks it against the history.</summary>
    private int Schedule(HistoryKind kind, string name, out HistoryEvent? recorded)
    {
        int id = _nextTaskId++;
        recorded = id < _scheduled.Count ? _scheduled[id] : null;
        if (recorded is not null && (recorded.Kind != kind || recorded.Name != name))
        {
            throw _fatal = new NonDeterminismException(InstanceId, id, Describe(recorded.Kind, recorded.Name), Describe(kind, name));
        }

        return id;
    }

    private static string Describe(HistoryKind kind, string? name) =>
        kind switch
        {
            HistoryKind.TimerCreated => "a timer",
            HistoryKind.SubOrchestrationScheduled => $"orchestration {name}",
            _ => $"activity {name}",
        };

    private void Dispatch(int id, string name, string input)
    {
        _runtime.WorkStarted();
        _ = Task.Run(() => RunActivityAsync(id, name, input), CancellationToken.None);
    }

    private async Task RunActivityAsync(int id, string name, string input)
    {
        HistoryEvent result;
        try
        {
            string output = await _runtime.InvokeActivityAsync(name, input, _stopping).ConfigureAwait(false);
            result = new HistoryEvent(HistoryKind.TaskCompleted, default, id, name, output);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            _runtime.WorkDone();
            return;
        }
        catch (Exception ex)
        {
            result = new HistoryEvent(HistoryKind.TaskFailed, default, id, name, ActivityFailedException.Record(ex));
        }

        _runtime.BeforeRecord(InstanceId, result);
        _inbox.Writer.TryWrite(new Completed(result));
    }

    private ITimer Arm(int id, DateTime fireAt)
    {
        TimeSpan due = fireAt - _runtime.Time.GetUtcNow().UtcDateTime;
        return _runtime.Time.CreateTimer(
            _ =>
            {
                _runtime.WorkStarted();
                _inbox.Writer.TryWrite(new Completed(new HistoryEvent(HistoryKind.TimerFired, default, id, "timer")));
            },
            null,
            due > TimeSpan.Zero ? due : TimeSpan.Zero,
            Timeout.InfiniteTimeSpan
        );
    }

    private HistoryEvent Record(HistoryEvent e)
    {
        _runtime.Store.Append(InstanceId, _nextSeq++, e);
        _runtime.AfterRecord(InstanceId, e);
        return e;
    }

    private HistoryEvent? Move(PendingEvent pending)
    {
        var e = new HistoryEvent(
            HistoryKind.EventRaised,
            _runtime.Time.GetUtcNow().UtcDateTime,
            Name: pending.Name,
            Payload: pending.Payload
        );
        if (!_runtime.Store.MoveFromInbox(InstanceId, _nextSeq, pending, e))
        {
            return null;
        }

        _nextSeq++;
        _runtime.AfterRecord(InstanceId, e);
        return e;
    }

    private void Finish()
    {
        DisarmTimers();
        if (ContinuesAsNew)
        {
            ContinuedAsNew = (_continueAsNew!, [.. _buffered.SelectMany(b => b.Value.Select(payload => (b.Key, payload)))]);
            return;
        }

        DateTime now = _runtime.Time.GetUtcNow().UtcDateTime;
        (InstanceStatus status, string? output, string? failure) =
            _fatal is not null ? (InstanceStatus.Failed, (string?)null, _fatal.Message)
            : _orchestration!.IsCompletedSuccessfully ? (InstanceStatus.Completed, _orchestration.Result.GetRawText(), (string?)null)
            : (InstanceStatus.Failed, null, _orchestration.Exception?.InnerException?.Message ?? "The orchestration was cancelled.");
        _runtime.Store.Finish(InstanceId, status, output, failure, now);
        _completion.TrySetResult(_runtime.Store.Get(InstanceId)!);
    }

    private void Stop()
    {
        DisarmTimers();
        _completion.TrySetCanceled(_stopping.IsCancellationRequested ? _stopping : CancellationToken.None);
    }

    private void DisarmTimers()
    {
        foreach ((_, ITimer? timer) in _timers.Values)
        {
            timer?.Dispose();
        }
    }

    private bool TryDequeue(out (SendOrPostCallback Callback, object? State) ready)
    {
        lock (_ready)
        {
            return _ready.TryDequeue(out ready);
        }
    }

    private void Post(SendOrPostCallback callback, object? state)
    {
        lock (_ready)
        {
            _ready.Enqueue((callback, state));
        }

        if (SynchronizationContext.Current != _sync)
        {
            // Posted from another thread (a cancellation callback, say): wake the loop so the step runs.
            _inbox.Writer.TryWrite(Wake.Instance);
        }
    }

    private abstract record Message;

    private sealed record Completed(HistoryEvent Event) : Message;

    private sealed record Raised(PendingEvent Pending) : Message;

    private sealed record Wake : Message
    {
        public static Wake Instance { get; } = new();
    }

    private sealed class OrchestrationSynchronizationContext(OrchestrationInstance owner) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => owner.Post(d, state);

        public override void Send(SendOrPostCallback d, object? state) =>
            throw new NotSupportedException("Orchestrator code runs on one logical thread; it cannot block on it.");

        public override SynchronizationContext CreateCopy() => this;
    }
}

using System.Collections.Concurrent;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;

namespace FineTuning.Local.Runtime;

/// <summary>How the embedded runtime runs: its clock, how many activities at once, how often it looks for raised events.</summary>
public sealed record DurableRuntimeOptions
{
    /// <summary>History timestamps, timers and retry waits; tests pass a manual clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Activities running at once across all instances (default: the number of cores).</summary>
    public int MaxConcurrentActivities { get; init; } = Environment.ProcessorCount;

    /// <summary>How often the inbox of raised events is read (events raised by another process wait this long at most).</summary>
    public TimeSpan InboxPollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How inputs, outputs, events and custom status are written: the workflow's build-time contracts by default. Other
    /// types need a contract in a native build; a managed one (the tests' own messages) describes them by reflection.
    /// </summary>
    public JsonSerializerOptions Json { get; init; } = LocalJson.Options;

    /// <summary>Called with each history event as it is recorded (after it is durable).</summary>
    public Action<string, HistoryEvent>? Recorded { get; init; }

    /// <summary>Called with an activity's result before it is recorded (the work is done, the history does not say so yet).</summary>
    public Action<string, HistoryEvent>? Recording { get; init; }
}

/// <summary>
/// The embedded durable runtime: orchestrations with their history in SQLite (<see cref="HistoryStore"/>), replayed
/// after a restart, activities run with bounded parallelism, durable timers on an injected clock, external events
/// delivered even when raised while the process was down. One process owns a store at a time.
/// </summary>
public sealed class DurableRuntime : IAsyncDisposable
{
    private readonly IReadOnlyDictionary<string, OrchestratorFunction> _orchestrators;
    private readonly IReadOnlyDictionary<string, ActivityFunction> _activities;
    private readonly DurableRuntimeOptions _options;
    private readonly ConcurrentDictionary<string, Running> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<InstanceState>> _ended = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (OrchestrationInstance Parent, int TaskId, string Name)> _parents = new(
        StringComparer.Ordinal
    );
    private readonly SemaphoreSlim _activitySlots;
    private readonly SemaphoreSlim _inboxSignal = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private Task? _inboxLoop;
    private readonly ConcurrentDictionary<long, bool> _raisedHere = new();
    private int _pendingWork;

    public DurableRuntime(
        HistoryStore store,
        IReadOnlyDictionary<string, OrchestratorFunction> orchestrators,
        IReadOnlyDictionary<string, ActivityFunction> activities,
        DurableRuntimeOptions? options = null
    )
    {
        Store = store;
        _orchestrators = orchestrators;
        _activities = activities;
        _options = options ?? new DurableRuntimeOptions();
        if (_options.MaxConcurrentActivities < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                _options.MaxConcurrentActivities,
                "MaxConcurrentActivities must be at least 1."
            );
        }

        _activitySlots = new SemaphoreSlim(_options.MaxConcurrentActivities);
    }

    public HistoryStore Store { get; }

    public TimeProvider Time => _options.Time;

    /// <summary>Raised with the final state of each instance that ends in this process.</summary>
    public event Action<InstanceState>? Ended;

    /// <summary>Raised with an instance id and its new custom status (JSON), live steps only.</summary>
    public event Action<string, string?>? CustomStatusChanged;

    /// <summary>Raised with an instance id, a level and a line its orchestrator logged while running live (never on replay).</summary>
    public event Action<string, WorkflowEvent>? Logged;

    /// <summary>
    /// True when no instance has work to do before a timer fires or an event arrives: no activity running or waiting
    /// to be recorded, no timer firing being recorded, no instance replaying. A test moves its clock only then.
    /// </summary>
    public bool IsIdle => Volatile.Read(ref _pendingWork) == 0;

    /// <summary>
    /// Resumes every unfinished instance in the store (replaying its history) and starts reading raised events; returns
    /// those resumed.
    /// </summary>
    public IReadOnlyList<InstanceState> Start()
    {
        // Every unfinished instance is loaded before any replays, so a parent's replay finds its child loaded.
        var resumed = new List<(InstanceState State, Running Running)>();
        lock (_gate)
        {
            foreach (InstanceState instance in Store.Running())
            {
                if (!_instances.ContainsKey(instance.InstanceId) && Load(instance.InstanceId, instance.Name, launch: false) is { } running)
                {
                    resumed.Add((instance, running));
                }
            }
        }

        foreach ((_, Running running) in resumed)
        {
            Launch(running);
        }

        _inboxLoop ??= Task.Run(ReadInboxAsync);
        return [.. resumed.Select(r => r.State)];
    }

    /// <summary>
    /// Starts an instance; false when one with this id exists, running or ended (ids are never reused: the hosts give
    /// each attempt at a run its own, see <see cref="Core.Workflow.RunRequest.Attempt"/>).
    /// </summary>
    /// <summary>A workflow message as JSON, by its own type's contract.</summary>
    internal string Serialize(object? value) => JsonSerializer.Serialize(value, ReportSerializer.TypeInfoOf(value, _options.Json));

    internal T Deserialize<T>(JsonElement json) => json.Deserialize(ReportSerializer.TypeInfo<T>(_options.Json))!;

    internal T Deserialize<T>(string json) => JsonSerializer.Deserialize(json, ReportSerializer.TypeInfo<T>(_options.Json))!;

    public bool ScheduleNew(string orchestrator, string instanceId, object? input)
    {
        if (!_orchestrators.ContainsKey(orchestrator))
        {
            throw new ArgumentException($"No orchestrator named '{orchestrator}'.", nameof(orchestrator));
        }

        lock (_gate)
        {
            if (
                _instances.ContainsKey(instanceId)
                || !Store.TryCreate(instanceId, orchestrator, Serialize(input), Time.GetUtcNow().UtcDateTime)
            )
            {
                return false;
            }

            return Load(instanceId, orchestrator) is not null;
        }
    }

    /// <summary>Raises an event; it is recorded in the history and delivered even if the instance waits for it later.</summary>
    public void RaiseEvent(string instanceId, string name, object? payload)
    {
        WorkStarted();
        _raisedHere[Store.Raise(instanceId, name, Serialize(payload), Time.GetUtcNow().UtcDateTime)] = true;
        _inboxSignal.Release();
    }

    public InstanceState? Get(string instanceId) => Store.Get(instanceId);

    /// <summary>True when the instance runs in this process now.</summary>
    public bool IsRunningHere(string instanceId) => _instances.ContainsKey(instanceId);

    /// <summary>Waits until the instance ends; null when there is no such instance, or it runs in no process here.</summary>
    public async Task<InstanceState?> WaitForCompletionAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        if (_instances.ContainsKey(instanceId) && _ended.TryGetValue(instanceId, out var ended))
        {
            return await ended.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return Store.Get(instanceId) is { Status: not InstanceStatus.Running } state ? state : null;
    }

    internal async Task<string> InvokeActivityAsync(string name, string input, CancellationToken cancellationToken)
    {
        if (!_activities.TryGetValue(name, out ActivityFunction? activity))
        {
            throw new InvalidOperationException($"No activity named '{name}'.");
        }

        await _activitySlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using JsonDocument document = JsonDocument.Parse(input);
            JsonElement output = await activity(document.RootElement, cancellationToken).ConfigureAwait(false);
            return output.GetRawText();
        }
        finally
        {
            _activitySlots.Release();
        }
    }

    internal void WorkStarted() => Interlocked.Increment(ref _pendingWork);

    internal void WorkDone() => Interlocked.Decrement(ref _pendingWork);

    /// <summary>An inbox event was moved into a history or dropped: if it was raised here, its work is done.</summary>
    internal void EventTaken(long pendingId)
    {
        if (_raisedHere.TryRemove(pendingId, out _))
        {
            WorkDone();
        }
    }

    internal void AfterRecord(string instanceId, HistoryEvent e) => _options.Recorded?.Invoke(instanceId, e);

    internal void BeforeRecord(string instanceId, HistoryEvent e) => _options.Recording?.Invoke(instanceId, e);

    internal void OnCustomStatus(string instanceId, string? status) => CustomStatusChanged?.Invoke(instanceId, status);

    internal void OnLog(string instanceId, WorkflowEvent entry) => Logged?.Invoke(instanceId, entry);

    /// <summary>Starts (or finds) a child orchestration for a parent's task; its end is delivered to the parent.</summary>
    internal void StartChild(OrchestrationInstance parent, int taskId, string name, string childId, string input)
    {
        _parents[childId] = (parent, taskId, name);
        lock (_gate)
        {
            if (_instances.ContainsKey(childId))
            {
                return;
            }

            // An unfinished child from before a restart is loaded already: Start loads every instance before any replays.
            if (_orchestrators.ContainsKey(name) && Store.TryCreate(childId, name, input, Time.GetUtcNow().UtcDateTime))
            {
                Load(childId, name);
                return;
            }
        }

        // Ended before the parent recorded it (a restart in between), or cannot run here: deliver what the store says.
        InstanceState child = Store.Get(childId) is { Status: not InstanceStatus.Running } ended
            ? ended
            : new InstanceState(
                childId,
                name,
                InstanceStatus.Failed,
                input,
                null,
                null,
                $"No orchestrator named '{name}' in this version.",
                default,
                default
            );
        NotifyParent(childId, child);
    }

    private void NotifyParent(string childId, InstanceState child)
    {
        if (_parents.TryRemove(childId, out var parent))
        {
            WorkStarted();
            parent.Parent.ChildEnded(parent.TaskId, parent.Name, child);
        }
    }

    /// <summary>Loads an instance's history and registers it as running here; its loop starts now, or at <see cref="Launch"/>.</summary>
    private Running? Load(string instanceId, string orchestrator, bool launch = true)
    {
        IReadOnlyList<HistoryEvent> history = Store.LoadHistory(instanceId);
        if (history.Count == 0 || !_orchestrators.TryGetValue(orchestrator, out OrchestratorFunction? function))
        {
            Store.Finish(
                instanceId,
                InstanceStatus.Failed,
                null,
                history.Count == 0 ? "The instance has no history." : $"No orchestrator named '{orchestrator}' in this version.",
                Time.GetUtcNow().UtcDateTime
            );
            return null;
        }

        var running = new Running(
            instanceId,
            function,
            new OrchestrationInstance(this, instanceId, function, history, _stopping.Token),
            _ended[instanceId] = new(TaskCreationOptions.RunContinuationsAsynchronously)
        );
        WorkStarted();
        _instances[instanceId] = running;
        if (launch)
        {
            Launch(running);
        }

        return running;
    }

    private void Launch(Running running)
    {
        string instanceId = running.InstanceId;
        TaskCompletionSource<InstanceState> ended = running.Ended;
        running.Loop = Task.Run(async () =>
        {
            while (true)
            {
                await running.Instance.RunAsync().ConfigureAwait(false);
                if (running.Instance.ContinuedAsNew is not { } next)
                {
                    break;
                }

                // ContinueAsNew: the history starts again from the new input, so it stays bounded however long the instance lives.
                // (The ending execution counted the next one's start as work; its replay releases it.)
                Store.Restart(instanceId, next.Input, next.Carried, Time.GetUtcNow().UtcDateTime);
                running.Instance = new OrchestrationInstance(
                    this,
                    instanceId,
                    running.Function,
                    Store.LoadHistory(instanceId),
                    _stopping.Token
                );
            }

            _instances.TryRemove(instanceId, out _);
            if (running.Instance.Completion.IsCompletedSuccessfully)
            {
                InstanceState state = running.Instance.Completion.Result;
                NotifyParent(instanceId, state);
                Ended?.Invoke(state);
                ended.TrySetResult(state);
                _ended.TryRemove(new KeyValuePair<string, TaskCompletionSource<InstanceState>>(instanceId, ended));
                WorkDone(); // The hold the ending execution took (see OrchestrationInstance.HoldForNextExecution).
            }
            else
            {
                ended.TrySetCanceled();
            }
        });
    }

    private sealed class Running(
        string instanceId,
        OrchestratorFunction function,
        OrchestrationInstance instance,
        TaskCompletionSource<InstanceState> ended
    )
    {
        public string InstanceId { get; } = instanceId;

        public OrchestratorFunction Function { get; } = function;

        public TaskCompletionSource<InstanceState> Ended { get; } = ended;

        public OrchestrationInstance Instance { get; set; } = instance;

        public Task Loop { get; set; } = Task.CompletedTask;
    }

    private async Task ReadInboxAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await _inboxSignal.WaitAsync(_options.InboxPollInterval, _stopping.Token).ConfigureAwait(false);
                foreach (PendingEvent pending in Store.Inbox())
                {
                    if (_instances.TryGetValue(pending.InstanceId, out var running))
                    {
                        running.Instance.Offer(pending);
                    }
                    else if (Store.Get(pending.InstanceId) is not { Status: InstanceStatus.Running })
                    {
                        Store.Discard(pending.Id);
                        EventTaken(pending.Id);
                    }
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Microsoft.Data.Sqlite.SqliteException)
            {
                // Busy or locked by another writer: the events stay in the inbox for the next look.
            }
        }
    }

    /// <summary>Stops every loop and waits for them; a second call does nothing.</summary>
    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] loops = [.. _instances.Values.Select(i => i.Loop), _inboxLoop ?? Task.CompletedTask];
        await Task.WhenAll(loops).ConfigureAwait(false);
        _stopping.Dispose();
        _activitySlots.Dispose();
        _inboxSignal.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Text.Json;
using FineTuning.Core.Workflow;
using FineTuning.Local.Runtime;

namespace FineTuning.Tests.Runtime;

/// <summary>The embedded durable runtime on a real SQLite history: replay, timers, events, retries, parallelism, determinism.</summary>
public sealed class DurableRuntimeTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public void Dispose() => _dir.Dispose();

    private HistoryStore Store() => new(_dir.File("durable.db"));

    private ActivityFunction Counting(Func<JsonElement, JsonElement>? body = null) =>
        (input, _) =>
        {
            string name = input.GetProperty("name").GetString()!;
            _calls.AddOrUpdate(name, 1, (_, n) => n + 1);
            return Task.FromResult(body?.Invoke(input) ?? JsonSerializer.SerializeToElement(name + "!"));
        };

    private DurableRuntime Runtime(
        OrchestratorFunction orchestrator,
        IReadOnlyDictionary<string, ActivityFunction>? activities = null,
        DurableRuntimeOptions? options = null
    ) =>
        new(
            Store(),
            new Dictionary<string, OrchestratorFunction> { ["Test"] = orchestrator },
            activities ?? new Dictionary<string, ActivityFunction> { ["Echo"] = Counting() },
            options ?? new DurableRuntimeOptions { Time = _clock }
        );

    /// <summary>A then a one-hour timer then B; returns both results and the time the timer ended.</summary>
    private static async Task<JsonElement> ActivityTimerActivity(IOrchestrationContext context, JsonElement input)
    {
        string a = await context.CallActivityAsync<string>("Echo", new { name = "A" });
        await context.CreateTimer(context.CurrentUtcDateTime.AddHours(1), CancellationToken.None);
        string b = await context.CallActivityAsync<string>("Echo", new { name = "B" });
        return JsonSerializer.SerializeToElement(
            new
            {
                a,
                b,
                at = context.CurrentUtcDateTime,
            }
        );
    }

    /// <summary>Moves the clock to the next timer whenever the runtime has nothing else to do, until the instance ends.</summary>
    internal static async Task<InstanceState> RunToEnd(DurableRuntime runtime, ManualTimeProvider clock, string instanceId) =>
        (await RunUntil(runtime, clock, instanceId, null))!;

    /// <summary>As <see cref="RunToEnd"/>, but stops (null) once the next timer is past <paramref name="until"/> from now.</summary>
    internal static async Task<InstanceState?> RunUntil(
        DurableRuntime runtime,
        ManualTimeProvider clock,
        string instanceId,
        TimeSpan? until
    )
    {
        Task<InstanceState?> done = runtime.WaitForCompletionAsync(instanceId);
        DateTimeOffset limit = clock.GetUtcNow() + (until ?? TimeSpan.FromDays(30));
        while (!done.IsCompleted)
        {
            if (runtime.IsIdle && clock.NextDue is { } due && due <= limit)
            {
                clock.Advance(due > clock.GetUtcNow() ? due - clock.GetUtcNow() : TimeSpan.Zero);
            }
            else if (runtime.IsIdle && (clock.NextDue is null || clock.NextDue > limit))
            {
                await Task.Delay(20);
                if (runtime.IsIdle && !done.IsCompleted)
                {
                    return until is not null
                        ? null
                        : throw new TimeoutException($"{instanceId} waits for something that never comes (next timer {clock.NextDue}).");
                }
            }
            else
            {
                await Task.Delay(1);
            }
        }

        return await done;
    }

    /// <summary>Waits for <paramref name="condition"/>; fails with the instance's state if it does not hold within ten seconds.</summary>
    internal static async Task WaitUntil(Func<bool> condition, DurableRuntime runtime, string instanceId)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (deadline.IsCancellationRequested || runtime.Get(instanceId) is { Status: not InstanceStatus.Running })
            {
                InstanceState? state = runtime.Get(instanceId);
                throw new TimeoutException($"{instanceId} never got there: {state?.Status} {state?.Failure}");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>Waits until the runtime has recorded everything it can without the clock moving.</summary>
    internal static async Task Settle(DurableRuntime runtime)
    {
        for (int i = 0; i < 3; i++)
        {
            while (!runtime.IsIdle)
                await Task.Delay(1);
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Run_CallsActivitiesThroughJsonAndRecordsTheOutput()
    {
        await using DurableRuntime runtime = Runtime(ActivityTimerActivity);
        runtime.Start();

        Assert.True(runtime.ScheduleNew("Test", "i1", new { }));
        InstanceState state = await RunToEnd(runtime, _clock, "i1");

        Assert.Equal(InstanceStatus.Completed, state.Status);
        using JsonDocument output = JsonDocument.Parse(state.Output!);
        Assert.Equal("A!", output.RootElement.GetProperty("a").GetString());
        Assert.Equal("B!", output.RootElement.GetProperty("b").GetString());
        Assert.Equal(new DateTime(2026, 11, 22, 13, 0, 0, DateTimeKind.Utc), output.RootElement.GetProperty("at").GetDateTime());
        Assert.False(runtime.ScheduleNew("Test", "i1", new { }));
    }

    [Fact]
    public async Task Restart_ReplaysWithoutRerunningFinishedActivitiesAndKeepsTheTimersFireTime()
    {
        await using (DurableRuntime first = Runtime(ActivityTimerActivity))
        {
            first.Start();
            first.ScheduleNew("Test", "i2", new { });
            await Settle(first);
            Assert.Equal(1, _calls["A"]);
            _clock.Advance(TimeSpan.FromMinutes(40));
        }

        await using DurableRuntime second = Runtime(ActivityTimerActivity);
        Assert.Single(second.Start());
        await Settle(second);
        Assert.False(_calls.ContainsKey("B"));
        Assert.Equal(_clock.GetUtcNow().AddMinutes(20), _clock.NextDue);

        InstanceState state = await RunToEnd(second, _clock, "i2");

        Assert.Equal(InstanceStatus.Completed, state.Status);
        Assert.Equal(1, _calls["A"]);
        Assert.Equal(1, _calls["B"]);
        IReadOnlyList<HistoryEvent> history = Store().LoadHistory("i2");
        Assert.Equal(
            [
                HistoryKind.ExecutionStarted,
                HistoryKind.TaskScheduled,
                HistoryKind.TaskCompleted,
                HistoryKind.TimerCreated,
                HistoryKind.TimerFired,
                HistoryKind.TaskScheduled,
                HistoryKind.TaskCompleted,
            ],
            history.Select(e => e.Kind)
        );
    }

    [Fact]
    public async Task Restart_RunsAgainAnActivityThatWasInFlight()
    {
        var gate = new TaskCompletionSource();
        var activities = new Dictionary<string, ActivityFunction>
        {
            ["Echo"] = async (input, ct) =>
            {
                _calls.AddOrUpdate("Slow", 1, (_, n) => n + 1);
                if (_calls["Slow"] == 1)
                    await gate.Task.WaitAsync(ct);
                return JsonSerializer.SerializeToElement("done");
            },
        };
        OrchestratorFunction orchestrator = async (context, _) =>
            JsonSerializer.SerializeToElement(await context.CallActivityAsync<string>("Echo", new { name = "x" }));
        await using (DurableRuntime first = Runtime(orchestrator, activities))
        {
            first.Start();
            first.ScheduleNew("Test", "i3", null);
            await WaitUntil(() => _calls.ContainsKey("Slow"), first, "i3");
        }

        await using DurableRuntime second = Runtime(orchestrator, activities);
        second.Start();
        InstanceState state = await RunToEnd(second, _clock, "i3");

        Assert.Equal(InstanceStatus.Completed, state.Status);
        Assert.Equal(2, _calls["Slow"]);
        Assert.Equal("\"done\"", state.Output);
    }

    [Fact]
    public async Task Replay_ThatSchedulesDifferentWork_FailsNamingTheInstanceAndStep()
    {
        await using (DurableRuntime first = Runtime(ActivityTimerActivity))
        {
            first.Start();
            first.ScheduleNew("Test", "i4", new { });
            await Settle(first);
        }

        OrchestratorFunction changed = async (context, _) =>
        {
            await context.CallActivityAsync<string>("Echo", new { name = "A" });
            return JsonSerializer.SerializeToElement(await context.CallActivityAsync<string>("Echo", new { name = "C" }));
        };
        await using DurableRuntime second = Runtime(changed);
        second.Start();
        InstanceState state = await RunToEnd(second, _clock, "i4");

        Assert.Equal(InstanceStatus.Failed, state.Status);
        Assert.Contains("i4 at step 1", state.Failure, StringComparison.Ordinal);
        Assert.Contains("the history has a timer, but the code now schedules activity Echo", state.Failure, StringComparison.Ordinal);
        Assert.False(_calls.ContainsKey("C"));
    }

    [Fact]
    public async Task Event_RaisedWhileNoProcessRuns_IsDeliveredOnRestart()
    {
        OrchestratorFunction waiting = async (context, _) =>
        {
            await context.CallActivityAsync<string>("Echo", new { name = "A" });
            return JsonSerializer.SerializeToElement(await context.WaitForExternalEvent<string>("approve"));
        };
        await using (DurableRuntime first = Runtime(waiting))
        {
            first.Start();
            first.ScheduleNew("Test", "i5", null);
            await Settle(first);
        }

        Store().Raise("i5", "approve", "\"yes\"", DateTime.UtcNow);
        await using DurableRuntime second = Runtime(waiting);
        second.Start();
        InstanceState state = await second.WaitForCompletionAsync("i5").WaitAsync(TimeSpan.FromSeconds(10))
            ?? throw new InvalidOperationException();

        Assert.Equal("\"yes\"", state.Output);
        Assert.Empty(Store().Inbox());
    }

    [Fact]
    public async Task Event_RaisedBeforeTheOrchestratorWaits_IsBuffered()
    {
        OrchestratorFunction waiting = async (context, _) =>
        {
            await context.CreateTimer(context.CurrentUtcDateTime.AddMinutes(5), CancellationToken.None);
            return JsonSerializer.SerializeToElement(await context.WaitForExternalEvent<int>("n"));
        };
        await using DurableRuntime runtime = Runtime(waiting);
        runtime.Start();
        runtime.ScheduleNew("Test", "i6", null);
        runtime.RaiseEvent("i6", "n", 7);
        while (Store().Inbox().Count > 0)
            await Task.Delay(5);

        InstanceState state = await RunToEnd(runtime, _clock, "i6");

        Assert.Equal("7", state.Output);
    }

    [Fact]
    public async Task Retry_WaitsDurableTimersWithBackoffAndRecordsEachFailure()
    {
        int attempts = 0;
        var activities = new Dictionary<string, ActivityFunction>
        {
            ["Flaky"] = (_, _) =>
                ++attempts < 3 ? throw new IOException("disk hiccup") : Task.FromResult(JsonSerializer.SerializeToElement(attempts)),
        };
        OrchestratorFunction orchestrator = async (context, _) =>
            JsonSerializer.SerializeToElement(
                await context.CallActivityAsync<int>("Flaky", null, new RetryPolicy(5, TimeSpan.FromSeconds(10), 3))
            );
        await using DurableRuntime runtime = Runtime(orchestrator, activities);
        runtime.Start();
        DateTimeOffset start = _clock.GetUtcNow();
        runtime.ScheduleNew("Test", "i7", null);

        InstanceState state = await RunToEnd(runtime, _clock, "i7");

        Assert.Equal("3", state.Output);
        Assert.Equal(TimeSpan.FromSeconds(40), _clock.GetUtcNow() - start);
        IReadOnlyList<HistoryEvent> history = Store().LoadHistory("i7");
        Assert.Equal(2, history.Count(e => e.Kind == HistoryKind.TaskFailed));
        Assert.Contains(
            "\"System.IO.IOException\"",
            history.First(e => e.Kind == HistoryKind.TaskFailed).Payload,
            StringComparison.Ordinal
        );
    }

    [Fact]
    public async Task Retry_ExhaustedFailsTheInstanceWithTheActivitysError()
    {
        var activities = new Dictionary<string, ActivityFunction> { ["Broken"] = (_, _) => throw new InvalidDataException("no such blob") };
        OrchestratorFunction orchestrator = async (context, _) =>
            JsonSerializer.SerializeToElement(
                await context.CallActivityAsync<int>("Broken", null, new RetryPolicy(2, TimeSpan.FromSeconds(1)))
            );
        await using DurableRuntime runtime = Runtime(orchestrator, activities);
        runtime.Start();
        runtime.ScheduleNew("Test", "i8", null);

        InstanceState state = await RunToEnd(runtime, _clock, "i8");

        Assert.Equal(InstanceStatus.Failed, state.Status);
        Assert.Equal("Activity Broken failed: InvalidDataException: no such blob", state.Failure);
    }

    [Fact]
    public async Task Retry_SkipsFailuresThatAnotherAttemptCannotMend()
    {
        int attempts = 0;
        var activities = new Dictionary<string, ActivityFunction>
        {
            ["Read"] = (_, _) =>
            {
                attempts++;
                throw new Core.Storage.BlobNotFoundException("datasets/gone.jsonl");
            },
        };
        OrchestratorFunction orchestrator = async (context, _) =>
            JsonSerializer.SerializeToElement(await context.CallActivityAsync<int>("Read", null, Retries.Transient));
        await using DurableRuntime runtime = Runtime(orchestrator, activities);
        runtime.Start();
        DateTimeOffset start = _clock.GetUtcNow();
        runtime.ScheduleNew("Test", "i11", null);

        InstanceState state = await RunToEnd(runtime, _clock, "i11");

        Assert.Equal(1, attempts);
        Assert.Equal(start, _clock.GetUtcNow());
        Assert.Equal("Activity Read failed: BlobNotFoundException: Blob 'datasets/gone.jsonl' does not exist.", state.Failure);
    }

    [Fact]
    public async Task FanOut_RunsActivitiesInParallelUpToTheLimit()
    {
        int running = 0,
            peak = 0;
        var activities = new Dictionary<string, ActivityFunction>
        {
            ["Work"] = async (input, ct) =>
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref peak, now);
                await Task.Delay(30, ct);
                Interlocked.Decrement(ref running);
                return input;
            },
        };
        OrchestratorFunction orchestrator = async (context, _) =>
        {
            int[] results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => context.CallActivityAsync<int>("Work", i)));
            return JsonSerializer.SerializeToElement(results);
        };
        await using DurableRuntime runtime = Runtime(
            orchestrator,
            activities,
            new DurableRuntimeOptions { Time = _clock, MaxConcurrentActivities = 3 }
        );
        runtime.Start();
        runtime.ScheduleNew("Test", "i9", null);

        InstanceState state = await RunToEnd(runtime, _clock, "i9");

        Assert.Equal("[0,1,2,3,4,5,6,7]", state.Output);
        Assert.Equal(3, peak);
    }

    [Fact]
    public async Task CancelledTimer_RacingAnEvent_LetsTheEventWinAndReplaysTheSameWay()
    {
        OrchestratorFunction race = async (context, _) =>
        {
            using var stop = new CancellationTokenSource();
            Task<string> approve = context.WaitForExternalEvent<string>("approve", stop.Token);
            Task timeout = context.CreateTimer(context.CurrentUtcDateTime.AddDays(1), stop.Token);
            Task winner = await Task.WhenAny(approve, timeout);
            stop.Cancel();
            Assert.True(timeout.IsCanceled, "Cancelling the token from orchestrator code cancels the timer at once.");
            string result = winner == approve ? await approve : "timed out";
            string after = await context.CallActivityAsync<string>("Echo", new { name = result });
            return JsonSerializer.SerializeToElement(after);
        };
        var hanging = new Dictionary<string, ActivityFunction>
        {
            ["Echo"] = async (input, ct) =>
            {
                _calls.AddOrUpdate("hung", 1, (_, n) => n + 1);
                await Task.Delay(Timeout.Infinite, ct);
                return input;
            },
        };
        await using (DurableRuntime first = Runtime(race, hanging))
        {
            first.Start();
            first.ScheduleNew("Test", "i10", null);
            await Settle(first);
            first.RaiseEvent("i10", "approve", "ok");
            await WaitUntil(() => _calls.ContainsKey("hung"), first, "i10");
            Assert.Null(_clock.NextDue);
        }

        await using DurableRuntime second = Runtime(race);
        Assert.Single(second.Start());
        InstanceState state = await second.WaitForCompletionAsync("i10").WaitAsync(TimeSpan.FromSeconds(10))
            ?? throw new InvalidOperationException();

        Assert.Equal("\"ok!\"", state.Output);
        Assert.Equal(1, _calls["ok"]);
        Assert.Null(_clock.NextDue);
    }

    /// <summary>A parent that runs a counting child; the child continues as new every three steps and waits a minute per step.</summary>
    private static Dictionary<string, OrchestratorFunction> ParentAndCountingChild() =>
        new()
        {
            ["Test"] = async (context, _) =>
                JsonSerializer.SerializeToElement(await context.CallSubOrchestratorAsync<int>("Count", context.InstanceId + "-child", 0)),
            ["Count"] = async (context, input) =>
            {
                int n = input.GetInt32();
                for (int step = 0; n < 10; step++, n++)
                {
                    if (step == 3)
                    {
                        context.ContinueAsNew(n);
                        return default;
                    }

                    await context.CreateTimer(context.CurrentUtcDateTime.AddMinutes(1), CancellationToken.None);
                    await context.CallActivityAsync<string>("Echo", new { name = $"step{n}" });
                }

                return JsonSerializer.SerializeToElement(n);
            },
        };

    [Fact]
    public async Task SubOrchestration_ThatContinuesAsNew_SurvivesARestartAndHandsItsResultToTheParent()
    {
        Dictionary<string, OrchestratorFunction> orchestrators = ParentAndCountingChild();
        await using (
            var first = new DurableRuntime(
                Store(),
                orchestrators,
                new Dictionary<string, ActivityFunction> { ["Echo"] = Counting() },
                new DurableRuntimeOptions { Time = _clock }
            )
        )
        {
            first.Start();
            first.ScheduleNew("Test", "p1", null);
            Assert.Null(await RunUntil(first, _clock, "p1", TimeSpan.FromMinutes(4.5)));
        }

        Assert.Equal(4, _calls.Count);
        await using var second = new DurableRuntime(
            Store(),
            orchestrators,
            new Dictionary<string, ActivityFunction> { ["Echo"] = Counting() },
            new DurableRuntimeOptions { Time = _clock }
        );
        Assert.Equal(2, second.Start().Count);
        InstanceState parent = await RunToEnd(second, _clock, "p1");

        Assert.True(parent.Output == "10", $"{parent.Status} {parent.Output} {parent.Failure}");
        Assert.All(_calls.Values, count => Assert.Equal(1, count));
        Assert.Equal(10, _calls.Count);
        InstanceState child = Store().Get("p1-child")!;
        Assert.Equal(InstanceStatus.Completed, child.Status);
        Assert.Equal("9", child.Input);
        Assert.True(Store().LoadHistory("p1-child").Count <= 1 + 3 * 4, "the child's history holds its last execution only");
    }

    [Fact]
    public async Task Log_WritesEachLineOnce_NotAgainWhenTheHistoryIsReplayedAfterARestart()
    {
        OrchestratorFunction orchestrator = async (context, _) =>
        {
            context.Log(new StageEntered(context.InstanceId, "start"));
            await context.CallActivityAsync<string>("Echo", new { name = "A" });
            context.Log(new RunEnded(context.InstanceId, RunStatus.Cancelled, "after A", "why"));
            await context.CreateTimer(context.CurrentUtcDateTime.AddHours(1), CancellationToken.None);
            context.Log(new StageEntered(context.InstanceId, "after the timer"));
            await context.CallActivityAsync<string>("Echo", new { name = "B" });
            context.Log(new RunEnded(context.InstanceId, RunStatus.Failed, "done", "why"));
            return JsonSerializer.SerializeToElement("ok");
        };
        var lines = new List<string>();
        void Collect(string id, WorkflowEvent entry)
        {
            lock (lines)
                lines.Add($"{id} {entry.Level} {entry.Describe()}");
        }

        await using (DurableRuntime first = Runtime(orchestrator))
        {
            first.Logged += Collect;
            first.Start();
            first.ScheduleNew("Test", "log1", null);
            Assert.Null(await RunUntil(first, _clock, "log1", TimeSpan.FromMinutes(30)));
        }

        Assert.Equal(["log1 Information Run log1: start", "log1 Warning Run log1: Cancelled at after A: why"], lines);
        await using DurableRuntime second = Runtime(orchestrator);
        second.Logged += Collect;
        second.Start();
        await RunToEnd(second, _clock, "log1");

        Assert.Equal(
            [
                "log1 Information Run log1: start",
                "log1 Warning Run log1: Cancelled at after A: why",
                "log1 Information Run log1: after the timer",
                "log1 Error Run log1: Failed at done: why",
            ],
            lines
        );
    }

    [Fact]
    public async Task ManyParentsAndChildren_ResumedTogether_EachParentGetsItsChildsResult()
    {
        // On resume a parent's replay can ask for its child before the runtime has loaded that child from the store:
        // the child must then be resumed, not reported as ended.
        var orchestrators = new Dictionary<string, OrchestratorFunction>
        {
            // Children's ids sort after every parent, so the store hands back all the parents first.
            ["Test"] = async (context, _) =>
                JsonSerializer.SerializeToElement(await context.CallSubOrchestratorAsync<int>("Child", "z-" + context.InstanceId, 7)),
            ["Child"] = async (context, input) =>
            {
                await context.CreateTimer(context.CurrentUtcDateTime.AddMinutes(1), CancellationToken.None);
                return JsonSerializer.SerializeToElement(input.GetInt32() * 6);
            },
        };
        string[] parents = [.. Enumerable.Range(0, 40).Select(i => $"m{i:00}")];
        await using (
            var first = new DurableRuntime(
                Store(),
                orchestrators,
                new Dictionary<string, ActivityFunction>(),
                new DurableRuntimeOptions { Time = _clock }
            )
        )
        {
            first.Start();
            foreach (string id in parents)
                first.ScheduleNew("Test", id, null);
            await Settle(first);
        }

        await using var second = new DurableRuntime(
            Store(),
            orchestrators,
            new Dictionary<string, ActivityFunction>(),
            new DurableRuntimeOptions { Time = _clock }
        );
        Assert.Equal(2 * parents.Length, second.Start().Count);
        foreach (string id in parents)
        {
            InstanceState parent = await RunToEnd(second, _clock, id);
            Assert.True(parent.Output == "42", $"{id}: {parent.Status} {parent.Output} {parent.Failure}");
        }
    }

    [Fact]
    public async Task ContinueAsNew_KeepsEventsTheOrchestrationHadNotTaken()
    {
        OrchestratorFunction orchestrator = async (context, input) =>
        {
            int round = input.GetInt32();
            await context.CreateTimer(context.CurrentUtcDateTime.AddMinutes(1), CancellationToken.None);
            if (round == 0)
            {
                context.ContinueAsNew(1);
                return default;
            }

            return JsonSerializer.SerializeToElement(await context.WaitForExternalEvent<string>("note"));
        };
        await using DurableRuntime runtime = Runtime(orchestrator);
        runtime.Start();
        runtime.ScheduleNew("Test", "c1", 0);
        runtime.RaiseEvent("c1", "note", "kept");
        while (Store().Inbox().Count > 0)
            await Task.Delay(5);

        InstanceState state = await RunToEnd(runtime, _clock, "c1");

        Assert.Equal("\"kept\"", state.Output);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}

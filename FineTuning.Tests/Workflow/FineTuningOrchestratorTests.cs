using System.Text;
using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;
using FineTuning.OpenAI;

namespace FineTuning.Tests.Workflow;

/// <summary>The orchestration end to end on real parts: file-system blobs, SQLite tables, the provider over HTTP to the emulator.</summary>
public sealed class FineTuningOrchestratorTests : IAsyncLifetime, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly FaultPlan _faults = new();
    private EmulatorServer _emulator = null!;
    private FileSystemBlobStore _blobs = null!;
    private SqliteTables _tables = null!;
    private DurableRuntime _runtime = null!;
    private HistoryStore _history = null!;

    /// <summary>Called with each recorded history event, so a test can act at a given point (raise an event).</summary>
    private Action<string, HistoryEvent>? _onRecorded;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Time = _clock,
                Speed = 1,
                Faults = _faults,
            }
        );
        _blobs = new FileSystemBlobStore(_dir.File("blobs"));
        _tables = new SqliteTables(_dir.File("finetuning.db"));
        IFineTuningProvider provider = OpenAIFineTuningProvider.Create(
            new ProviderOptions { Endpoint = _emulator.OpenAIEndpoint, ApiKey = "k" }
        );
        _history = new HistoryStore(_dir.File("durable.db"));
        _runtime = new DurableRuntime(
            _history,
            LocalWorkflow.Orchestrators,
            LocalWorkflow.Activities(_blobs, provider, _tables, _tables, ModelCatalog.Default),
            new DurableRuntimeOptions { Time = _clock, Recorded = (id, e) => _onRecorded?.Invoke(id, e) }
        );
        _runtime.Start();
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    /// <summary>Runs the workflow on the embedded runtime, moving the manual clock whenever it waits on a timer.</summary>
    private async Task<RunOutcome> Run(string runId, RunRequest request)
    {
        Assert.True(_runtime.ScheduleNew(LocalRunHost.Orchestrator, runId, request));
        InstanceState state = await Runtime.DurableRuntimeTests.RunToEnd(_runtime, _clock, runId);
        Assert.True(state.Status == InstanceStatus.Completed, state.Failure);
        return JsonSerializer.Deserialize<RunOutcome>(state.Output!, ReportSerializer.Options)!;
    }

    /// <summary>The activities a run scheduled, in order (retries included), from its history.</summary>
    private List<string> Calls(string runId) =>
        [.. _history.LoadHistory(runId).Where(e => e.Kind == HistoryKind.TaskScheduled).Select(e => e.Name!)];

    public void Dispose() => _dir.Dispose();

    private async Task Drop(string name, string content) =>
        await _blobs.WriteAsync(name, (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(content), ct).AsTask());

    private async Task<string> ReadBlob(string name)
    {
        await using Stream stream = await _blobs.OpenReadAsync(name);
        return await new StreamReader(stream).ReadToEndAsync();
    }

    private static string SupportDataset() => Rows.Jsonl(Rows.ManyChats(60, i => i % 3 == 0 ? "billing"
                : i % 3 == 1 ? "shipping"
                : "returns"));

    [Fact]
    public async Task Run_GoesFromDatasetToARegisteredModelWithLineage()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-e2e";

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl", Suffix = "support" });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        ModelRow? model = await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!);
        Assert.NotNull(model);
        Assert.Equal("run-e2e", model.RunId);
        Assert.Equal(2, model.FileIds.Count);
        Assert.Equal(18, model.TrainRowsByTopic["billing"]);
        Assert.Equal("improved_significantly", model.Outcome);
        Assert.NotNull(model.DatasetETag);
        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(SupportDataset()))),
            model.DatasetContentHash
        );
        RunRow? run = await ((IRunStore)_tables).GetAsync("run-e2e");
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal(RunStages.RegisterModel, run.Stage);
        Assert.Equal(54, run.TrainRows);
        Assert.Equal(6, run.ValidationRows);
        Assert.NotNull(await _blobs.GetPropertiesAsync("runs/run-e2e/reports/validation.json"));
        Assert.NotNull(await _blobs.GetPropertiesAsync("runs/run-e2e/reports/results.json"));
        Assert.Equal(1, Calls(id).Count(c => c == "SubmitJob"));
    }

    [Fact]
    public async Task NearDuplicates_AskedForInTheRequest_AreInTheRunsValidationReport()
    {
        await Drop("datasets/near.jsonl", Datasets.NearDuplicateTests.Dataset());

        RunOutcome outcome = await Run("run-near", new RunRequest { DatasetBlob = "datasets/near.jsonl", NearDuplicates = true });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        using JsonDocument report = JsonDocument.Parse(await ReadBlob("runs/run-near/reports/validation.json"));
        Assert.Equal(
            [2, 4],
            report
                .RootElement.GetProperty("findings")
                .EnumerateArray()
                .Where(f => f.GetProperty("code").GetString() == FindingCodes.NearDuplicate)
                .Select(f => f.GetProperty("line").GetInt64())
        );
    }

    [Fact]
    public async Task UnfitDataset_FailsWithTheFirstErrorsAndStartsNoJob()
    {
        await Drop("datasets/bad.jsonl", Rows.Jsonl(Rows.ManyChats(20)) + "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n");
        string id = "run-bad";

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/bad.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("line 21, messages[0].role", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("SubmitJob", Calls(id));
        Assert.Equal(RunStatus.Failed, (await ((IRunStore)_tables).GetAsync("run-bad"))!.Status);
    }

    [Fact]
    public async Task CancelDuringMonitoring_CancelsTheProviderJob()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-cancel";
        _onRecorded = (runId, e) =>
        {
            if (e is { Kind: HistoryKind.TaskCompleted, Name: "SubmitJob" })
                _runtime.RaiseEvent(runId, FineTuningOrchestrator.CancelEvent, true);
        };

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Cancelled, outcome.Status);
        Assert.Contains("CancelJob", Calls(id));
        // The monitor sees the cancelled job after the run has ended: its row must not say the run is running again.
        await Runtime.DurableRuntimeTests.RunToEnd(_runtime, _clock, JobMonitor.InstanceIdFor(id));
        RunRow? run = await ((IRunStore)_tables).GetAsync("run-cancel");
        Assert.Equal("cancelled", run!.JobStatus);
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.NotNull(run.FinishedAt);
    }

    /// <summary>The provider's jobs tagged with a run id.</summary>
    private async Task<List<JsonElement>> JobsOf(string runId)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("api-key", "k");
        using JsonDocument jobs = JsonDocument.Parse(
            await http.GetStringAsync(new Uri(_emulator.OpenAIEndpoint, $"fine_tuning/jobs?metadata[run_id]={runId}"))
        );
        return [.. jobs.RootElement.GetProperty("data").EnumerateArray().Select(j => j.Clone())];
    }

    [Theory]
    [InlineData("PlanShards")]
    [InlineData("ValidateShard")]
    [InlineData("MergeValidation")]
    [InlineData("SplitDataset")]
    [InlineData("UploadFile")]
    public async Task CancelBeforeSubmission_EndsTheRunCancelledAndCreatesNoJob(string activity)
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-cancel-" + activity.ToLowerInvariant();
        _onRecorded = (runId, e) =>
        {
            if (runId == id && e.Kind == HistoryKind.TaskScheduled && e.Name == activity)
                _runtime.RaiseEvent(runId, FineTuningOrchestrator.CancelEvent, true);
        };

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Cancelled, outcome.Status);
        Assert.DoesNotContain("SubmitJob", Calls(id));
        Assert.Empty(await JobsOf(id));
        RunRow run = (await ((IRunStore)_tables).GetAsync(id))!;
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Null(run.JobId);
        Assert.Contains("no job was created", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelDuringSubmission_CancelsTheJobThatWasCreated()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-cancel-submit";
        _onRecorded = (runId, e) =>
        {
            if (runId == id && e is { Kind: HistoryKind.TaskScheduled, Name: "SubmitJob" })
                _runtime.RaiseEvent(runId, FineTuningOrchestrator.CancelEvent, true);
        };

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Cancelled, outcome.Status);
        Assert.Equal("cancelled", Assert.Single(await JobsOf(id)).GetProperty("status").GetString());
        Assert.Contains("CancelJob", Calls(id));
        // Cancelled before the job was followed: no monitor was started for it.
        Assert.DoesNotContain(
            JobMonitor.Name,
            _history.LoadHistory(id).Where(e => e.Kind == HistoryKind.SubOrchestrationScheduled).Select(e => e.Name)
        );
    }

    [Fact]
    public async Task FailedMonitor_CancelsTheProviderJobBeforeTheRunEndsFailed()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        // The monitor's first poll is refused for good: the monitor fails, and the job must not be left running and billing.
        _faults.Add(new Fault("GET", "/fine_tuning/jobs/", Status: 400));
        string id = "run-monitor-fails";

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("Monitor failed", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("CancelJob", Calls(id));
        Assert.Equal("cancelled", Assert.Single(await JobsOf(id)).GetProperty("status").GetString());
        Assert.Equal("cancelled", (await ((IRunStore)_tables).GetAsync(id))!.JobStatus);
    }

    [Fact]
    public async Task PauseAndResume_PauseTheProviderJob_AndPausedTimeDoesNotCountTowardsTheDeadline()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-pause";
        string monitor = JobMonitor.InstanceIdFor(id);
        int pausedPolls = 0;
        bool paused = false;
        var seen = new List<string>();
        _onRecorded = (runId, e) =>
        {
            if (
                runId == monitor
                && e is { Kind: HistoryKind.TaskCompleted, Name: "GetJob" }
                && JobStatusIn(e.Payload) == "running"
                && seen.Count == 0
                && !paused
            )
            {
                paused = true;
                _runtime.RaiseEvent(id, FineTuningOrchestrator.PauseEvent, true);
            }

            if (runId == id && e is { Kind: HistoryKind.TaskCompleted, Name: "PauseJob" or "ResumeJob" })
                seen.Add(JobStatusIn(e.Payload));
            // 20 polls of the paused job take over 15 minutes of the clock: longer than the whole deadline.
            if (
                runId == monitor
                && e is { Kind: HistoryKind.TaskCompleted, Name: "GetJob" }
                && JobStatusIn(e.Payload) == "paused"
                && ++pausedPolls == 20
            )
            {
                _runtime.RaiseEvent(id, FineTuningOrchestrator.ResumeEvent, true);
            }
        };
        DateTimeOffset start = _clock.GetUtcNow();

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl", Deadline = TimeSpan.FromMinutes(10) });

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        Assert.Equal(["paused", "running"], seen);
        Assert.True(
            _clock.GetUtcNow() - start > TimeSpan.FromMinutes(15),
            "the run outlived its 10-minute deadline only because the job was paused"
        );
        Assert.Equal(1, Calls(id).Count(c => c == "PauseJob"));
        Assert.Equal(1, Calls(id).Count(c => c == "ResumeJob"));
    }

    [Fact]
    public async Task PauseOfAJobThatIsNotRunning_LeavesTheJobAndTheRunGoingOn()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-pause-queued";
        _onRecorded = (runId, e) =>
        {
            // The job is validating its files then: the provider refuses a pause (400), which must not end the run.
            if (runId == id && e is { Kind: HistoryKind.TaskCompleted, Name: "SubmitJob" })
                _runtime.RaiseEvent(id, FineTuningOrchestrator.PauseEvent, true);
        };

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        Assert.Contains("PauseJob", Calls(id));
    }

    private static string JobStatusIn(string? payload) =>
        JsonDocument.Parse(payload ?? "{}").RootElement.TryGetProperty("status", out JsonElement status) ? status.GetString()! : "";

    [Fact]
    public async Task DatasetReplacedAfterValidation_FailsTheRunAtTheSplit_AndTrainsOnNothing()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-replaced";
        _onRecorded = (runId, e) =>
        {
            // Another file is renamed over the dataset once validation has read it (a kill and restart here would do the same).
            if (runId == id && e is { Kind: HistoryKind.TaskCompleted, Name: "MergeValidation" })
            {
                Drop("datasets/support.jsonl", Rows.Jsonl(Rows.ManyChats(51))).GetAwaiter().GetResult();
            }
        };

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("Split failed", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("changed while the run was reading it", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("UploadFile", Calls(id));
        Assert.Empty(await JobsOf(id));
    }

    [Fact]
    public async Task Run_RecordsTheHashesOfTheFilesItUploaded()
    {
        await Drop("datasets/support.jsonl", SupportDataset());

        RunOutcome outcome = await Run("run-hashes", new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        ModelRow model = (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!;
        foreach (
            (string file, string blob) in new[]
            {
                ("train.jsonl", "runs/run-hashes/split/train.jsonl"),
                ("valid.jsonl", "runs/run-hashes/split/valid.jsonl"),
            }
        )
        {
            await using Stream content = await _blobs.OpenReadAsync(blob);
            Assert.Equal(
                Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(content)),
                model.SplitFileHashes[file]
            );
        }
    }

    [Fact]
    public async Task Registry_RecordsTheHyperparametersTheJobUsed_EvenWhenNoneWereAsked()
    {
        await Drop("datasets/support.jsonl", SupportDataset());

        RunOutcome outcome = await Run("run-hyper", new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        ModelRow model = (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!;
        Assert.NotNull(model.Hyperparameters);
        using var used = System.Text.Json.JsonDocument.Parse(model.Hyperparameters);
        Assert.True(used.RootElement.GetProperty("epochs").GetInt32() >= 1, model.Hyperparameters);
        Assert.Equal(1, used.RootElement.GetProperty("batchSize").GetInt32());
    }

    [Fact]
    public async Task ContinuousFineTuning_SubmitsTheFineTunedModelTheUserNamed()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        const string tuned = "ft:gpt-4.1-mini-2025-04-14:personal:support:run-earlier";

        RunOutcome outcome = await Run("run-continue", new RunRequest { DatasetBlob = "datasets/support.jsonl", BaseModel = tuned });

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        Assert.Equal(tuned, Assert.Single(await JobsOf("run-continue")).GetProperty("model").GetString());
        Assert.Equal(tuned, (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!.BaseModel);
    }

    [Fact]
    public async Task Split_RemovesTheScratchAKilledAttemptLeft_AndLeavesNoneBehind()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = $"run-scratch-{Guid.NewGuid():N}";
        string scratch = Core.Workflow.Activities.SplitDataset.ScratchFor(id);
        Directory.CreateDirectory(scratch);
        await File.WriteAllTextAsync(Path.Combine(scratch, "dataset.jsonl"), "a copy a killed attempt left behind");

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        Assert.False(Directory.Exists(scratch));
    }

    [Fact]
    public async Task TrainingShareBelowTheMinimum_FailsBeforeAnyUpload()
    {
        // Ten examples are fit to validate, but a 0.9 split leaves nine to train on: the provider would refuse the job.
        await Drop("datasets/ten.jsonl", Rows.Jsonl(Rows.ManyChats(10)));

        RunOutcome outcome = await Run("run-ten", new RunRequest { DatasetBlob = "datasets/ten.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("The split leaves 9 training examples and the provider needs at least 10", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("UploadFile", Calls("run-ten"));
    }

    [Fact]
    public async Task DetectedReinforcementWithoutAGrader_FailsBeforeTheSplit()
    {
        await Drop("datasets/rft.jsonl", Rows.Jsonl(Enumerable.Range(0, 12).Select(i => Rows.Rft($"q{i}", "a"))));

        RunOutcome outcome = await Run("run-rft", new RunRequest { DatasetBlob = "datasets/rft.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("needs a grader", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("SplitDataset", Calls("run-rft"));
    }

    [Fact]
    public async Task UpdateRun_NeverReplacesAFinishedRowWithAnUnfinishedOne()
    {
        var update = new Core.Workflow.Activities.UpdateRun(_tables);
        var running = new RunRow
        {
            RunId = "run-x",
            DatasetBlob = "datasets/a.jsonl",
            Status = RunStatus.Running,
            JobStatus = "running",
        };
        RunRow cancelled = running with
        {
            Status = RunStatus.Cancelled,
            JobStatus = "cancelled",
            FinishedAt = new DateTime(2026, 11, 22, 13, 0, 0, DateTimeKind.Utc),
        };

        Assert.True(await update.RunAsync(running));
        Assert.True(await update.RunAsync(cancelled));
        Assert.False(await update.RunAsync(running with { JobStatus = "cancelled" }));
        Assert.True(await update.RunAsync(cancelled with { Error = "retried" }));

        RunRow? row = await ((IRunStore)_tables).GetAsync("run-x");
        Assert.Equal(RunStatus.Cancelled, row!.Status);
        Assert.Equal("retried", row.Error);
    }

    [Fact]
    public async Task Deadline_CancelsAStalledJobAndFailsTheRunWithATimeout_KeepingTheMonitorsHistoryBounded()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        _faults.Add(JobFault.StallInQueue);
        string id = "run-deadline";
        DateTimeOffset start = _clock.GetUtcNow();

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl", Deadline = TimeSpan.FromHours(48) });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("Timed out", outcome.Error, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromHours(48), _clock.GetUtcNow() - start);
        string monitor = JobMonitor.InstanceIdFor(id);
        Assert.Contains("CancelJob", Calls(monitor));
        MonitorInput last = JsonSerializer.Deserialize<MonitorInput>(_history.Get(monitor)!.Input, ReportSerializer.Options)!;
        Assert.InRange(last.Polls, 250, 400);
        Assert.True(
            _history.LoadHistory(monitor).Count < Polling.PollsPerExecution * 6,
            "each execution of the monitor starts a fresh history"
        );
        Assert.Equal("cancelled", (await ((IRunStore)_tables).GetAsync(id))!.JobStatus);
    }

    [Fact]
    public async Task FailingJob_EndsTheRunAsFailedWithTheProvidersError()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        _faults.Add(JobFault.Fail);
        string id = "run-fail";

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("server_error", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProviderFaults_DuringUploadSubmitAndPoll_TheRunCompletesWithOneJob()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        _faults.Add(new Fault("POST", "/files", Status: 429, RetryAfterSeconds: 1));
        _faults.Add(new Fault("POST", "/files", Status: 500));
        _faults.Add(new Fault("POST", "/fine_tuning/jobs", DropResponse: true));
        _faults.Add(new Fault("GET", "/fine_tuning/jobs/", Status: 503));
        _faults.Add(new Fault("GET", "/fine_tuning/jobs/", Delay: TimeSpan.FromSeconds(1)));
        string id = "run-faults";

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Equal(0, _faults.Pending);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("api-key", "k");
        using JsonDocument jobs = JsonDocument.Parse(
            await http.GetStringAsync(new Uri(_emulator.OpenAIEndpoint, $"fine_tuning/jobs?metadata[run_id]={id}"))
        );
        Assert.Single(jobs.RootElement.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task AValidationBlob_IsUploadedAsGiven_AndTheDatasetAllTrains()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        await Drop(
            "datasets/support-valid.jsonl",
            Rows.Jsonl(Enumerable.Range(0, 7).Select(i => Rows.Chat($"a held-out question {i}?", $"its answer {i}.", topic: "billing")))
        );
        string id = "run-user-validation";

        RunOutcome outcome = await Run(
            id,
            new RunRequest { DatasetBlob = "datasets/support.jsonl", ValidationBlob = "datasets/support-valid.jsonl" }
        );

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        RunRow row = (await ((IRunStore)_tables).GetAsync(id))!;
        Assert.Equal((60, 7), (row.TrainRows, row.ValidationRows));
        string uploaded = await ReadBlob($"runs/{id}/split/valid.jsonl");
        Assert.Equal(7, uploaded.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("a held-out question 0?", uploaded, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATestRatio_HoldsOutATestSetPerTopic_ThatIsKeptWithTheRunAndNeverUploaded()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-test-share";

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl", TestRatio = 0.1 });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        RunRow row = (await ((IRunStore)_tables).GetAsync(id))!;
        // 20 rows per topic: 2 held out, then 18 split 16 / 2.
        Assert.Equal((48, 6, 6), (row.TrainRows, row.ValidationRows, row.TestRows));
        string test = await ReadBlob($"runs/{id}/split/test.jsonl");
        Assert.Equal(6, test.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("\"topic\"", test, StringComparison.Ordinal); // as written in the source, for per-topic reports
        Assert.Equal(2, Calls(id).Count(c => c == "UploadFile")); // training and validation only
        ModelRow model = (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!;
        Assert.Contains("test.jsonl", model.SplitFileHashes.Keys);
    }

    [Fact]
    public async Task AValidationBlob_ThatSharesExamplesWithTheDataset_FailsTheRunBeforeAnyUpload()
    {
        string dataset = SupportDataset();
        await Drop("datasets/support.jsonl", dataset);
        await Drop("datasets/leaky-valid.jsonl", string.Join("\n", dataset.Split('\n').Take(3)) + "\n");
        string id = "run-leaky-validation";

        RunOutcome outcome = await Run(
            id,
            new RunRequest { DatasetBlob = "datasets/support.jsonl", ValidationBlob = "datasets/leaky-valid.jsonl" }
        );

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("datasets/leaky-valid.jsonl shares 3 examples with the dataset", outcome.Error, StringComparison.Ordinal);
        Assert.Contains(
            "datasets/leaky-valid.jsonl line 2 is the same example as datasets/support.jsonl line 2",
            outcome.Error,
            StringComparison.Ordinal
        );
        Assert.DoesNotContain("UploadFile", Calls(id));
    }

    [Fact]
    public async Task AProviderThatAsksForAnHour_IsWaitedForOnADurableTimer_AndTheRunSaysSo()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = "run-busy";
        var waiting = new List<string>();
        _runtime.CustomStatusChanged += (instance, json) =>
        {
            if (json is not null && JsonSerializer.Deserialize<RunProgress>(json, ReportSerializer.Options)?.Waiting is { } why)
            {
                lock (waiting)
                    waiting.Add(why);
            }
        };
        _onRecorded = (instance, e) =>
        {
            // The first poll of the job meets a provider that asks to be called again in an hour.
            if (instance == id && e.Kind == HistoryKind.SubOrchestrationScheduled)
                _faults.Add(new Fault("GET", "/fine_tuning/jobs/ftjob", Status: 429, RetryAfterSeconds: 3600));
        };

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Equal(0, _faults.Pending);
        string said = Assert.Single(waiting.Distinct());
        Assert.Contains("the provider asked to be called again at", said, StringComparison.Ordinal);
        Assert.Contains("429", said, StringComparison.Ordinal);
        Assert.Contains(
            _history
                .LoadHistory(JobMonitor.InstanceIdFor(id))
                .Where(e => e.Kind == HistoryKind.TimerCreated)
                .Zip(_history.LoadHistory(JobMonitor.InstanceIdFor(id)).Where(e => e.Kind == HistoryKind.TimerCreated).Skip(1)),
            pair => pair.Second.FireAt - pair.First.FireAt >= TimeSpan.FromMinutes(59)
        );
    }

    [Theory]
    [InlineData("POST", "/files", "UploadFiles")]
    [InlineData("POST", "/fine_tuning/jobs", "SubmitJob")]
    public async Task AProviderThatAsksForAnHour_OutsideTheMonitor_IsWaitedForOnADurableTimer_AndTheRunSaysSo(
        string method,
        string path,
        string stage
    )
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = $"run-busy-{stage}";
        var waiting = new List<RunProgress>();
        _runtime.CustomStatusChanged += (instance, json) =>
        {
            if (
                instance == id
                && json is not null
                && JsonSerializer.Deserialize<RunProgress>(json, ReportSerializer.Options) is { Waiting: not null } p
            )
            {
                lock (waiting)
                    waiting.Add(p);
            }
        };
        _faults.Add(new Fault(method, path, Status: 429, RetryAfterSeconds: 3600));

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Equal(0, _faults.Pending);
        RunProgress said = Assert.Single(waiting);
        Assert.Equal(stage, said.Stage);
        Assert.Contains("the provider asked to be called again at", said.Waiting, StringComparison.Ordinal);
        Assert.Contains("asked to retry after 3600 s", said.Waiting, StringComparison.Ordinal);
        // One durable timer of an hour in the run's own history, not an activity that slept or a retry that gave up.
        HistoryEvent[] timers = [.. _history.LoadHistory(id).Where(e => e.Kind == HistoryKind.TimerCreated)];
        Assert.Contains(timers, t => t.FireAt - t.Timestamp >= TimeSpan.FromMinutes(59));
        Assert.Single(await JobsOf(id));
    }

    [Theory]
    [InlineData(null, "gpt-4.1-mini-2025-04-14", RunStatus.Succeeded, null)]
    [InlineData("100", "gpt-4.1-mini-2025-04-14", RunStatus.Succeeded, null)]
    [InlineData("0.0001", "gpt-4.1-mini-2025-04-14", RunStatus.Failed, "is over the budget of $0.0001")]
    public async Task ABudget_StopsARunWhoseEstimateIsOverIt_BeforeAnythingIsUploaded(
        string? budget,
        string model,
        RunStatus expected,
        string? says
    )
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        string id = $"run-budget-{budget ?? "none"}";

        RunOutcome outcome = await Run(
            id,
            new RunRequest
            {
                DatasetBlob = "datasets/support.jsonl",
                BaseModel = model,
                BudgetUsd = budget is null ? null : decimal.Parse(budget, System.Globalization.CultureInfo.InvariantCulture),
            }
        );

        Assert.Equal(expected, outcome.Status);
        RunRow row = (await ((IRunStore)_tables).GetAsync(id))!;
        Assert.True(row.EstimatedCostUsd > 0);
        if (says is not null)
        {
            Assert.Contains(says, outcome.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("UploadFile", Calls(id));
            Assert.Empty(await JobsOf(id));
        }
        else
        {
            Assert.Equal(row.EstimatedCostUsd, (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!.EstimatedCostUsd);
        }
    }

    [Fact]
    public async Task ABudget_WithNoTotalToHoldItAgainst_StopsTheRun()
    {
        await Drop("datasets/support.jsonl", SupportDataset());

        RunOutcome outcome = await Run(
            "run-budget-unknown",
            new RunRequest
            {
                DatasetBlob = "datasets/support.jsonl",
                BaseModel = "my-own-model",
                AllowUnknownModel = true,
                BudgetUsd = 5,
            }
        );

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("no estimated total to hold against it", outcome.Error, StringComparison.Ordinal);
        Assert.Empty(await JobsOf("run-budget-unknown"));
    }

    [Fact]
    public async Task ManyRuns_AtOnce_EachRegistersItsModel()
    {
        string[] ids = ["run-a", "run-b", "run-c"];
        foreach (string id in ids)
        {
            await Drop($"datasets/{id}.jsonl", Rows.Jsonl(Rows.ManyChats(30, i => $"{id}-{i % 2}")));
            Assert.True(
                _runtime.ScheduleNew(LocalRunHost.Orchestrator, id, new RunRequest { DatasetBlob = $"datasets/{id}.jsonl", Suffix = id })
            );
        }

        foreach (string id in ids)
        {
            InstanceState state = await Runtime.DurableRuntimeTests.RunToEnd(_runtime, _clock, id);
            Assert.Equal(RunStatus.Succeeded, JsonSerializer.Deserialize<RunOutcome>(state.Output!, ReportSerializer.Options)!.Status);
        }

        IReadOnlyList<ModelRow> models = await ((IModelRegistry)_tables).ListAsync();
        Assert.Equal(ids, models.Select(m => m.RunId).Order(StringComparer.Ordinal));
        Assert.All(models, m => Assert.Contains($":{m.RunId}:", m.ModelId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RefusedSubmit_FailsTheRunAtOnceWithTheProvidersMessage()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        _faults.Add(new Fault("POST", "/fine_tuning/jobs", Status: 400));
        string id = "run-refused";
        DateTimeOffset start = _clock.GetUtcNow();

        RunOutcome outcome = await Run(id, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.StartsWith(
            "SubmitJob failed: Activity SubmitJob failed: ProviderRejectedException: 400",
            outcome.Error,
            StringComparison.Ordinal
        );
        Assert.Single(Calls(id), c => c == "SubmitJob");
        Assert.True(_clock.GetUtcNow() - start < TimeSpan.FromMinutes(1), "no retry waits");
        RunRow run = (await ((IRunStore)_tables).GetAsync(id))!;
        Assert.Equal((RunStatus.Failed, RunStages.SubmitJob), (run.Status, run.Stage));
        Assert.Equal(outcome.Error, run.Error);
    }
}

using System.Text;
using FineTuning.Core.Catalog;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
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
    private IReadOnlyDictionary<string, ActivityFunction> _activities = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Time = _clock, Speed = 1, Faults = _faults });
        _blobs = new FileSystemBlobStore(_dir.File("blobs"));
        _tables = new SqliteTables(_dir.File("finetuning.db"));
        IFineTuningProvider provider = OpenAIFineTuningProvider.Create(new ProviderOptions { Endpoint = _emulator.OpenAIEndpoint, ApiKey = "k" });
        _activities = WorkflowActivities.Create(_blobs, provider, _tables, _tables, ModelCatalog.Default);
    }

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private async Task Drop(string name, string content) =>
        await _blobs.WriteAsync(name, (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(content), ct).AsTask());

    private static string SupportDataset() => Rows.Jsonl(Rows.ManyChats(60, i => i % 3 == 0 ? "billing" : i % 3 == 1 ? "shipping" : "returns"));

    [Fact]
    public async Task Run_GoesFromDatasetToARegisteredModelWithLineage()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        var context = new InlineOrchestrationContext("run-e2e", _clock, _activities);

        RunOutcome outcome = await FineTuningOrchestrator.RunAsync(context, new RunRequest { DatasetBlob = "datasets/support.jsonl", Suffix = "support" });

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        ModelRow? model = await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!);
        Assert.NotNull(model);
        Assert.Equal("run-e2e", model.RunId);
        Assert.Equal(2, model.FileIds.Count);
        Assert.Equal(18, model.TrainRowsByTopic["billing"]);
        Assert.Equal("improved_significantly", model.Outcome);
        Assert.NotNull(model.DatasetETag);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(SupportDataset()))), model.DatasetContentHash);
        RunRow? run = await ((IRunStore)_tables).GetAsync("run-e2e");
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal(RunStages.RegisterModel, run.Stage);
        Assert.Equal(54, run.TrainRows);
        Assert.Equal(6, run.ValidationRows);
        Assert.NotNull(await _blobs.GetPropertiesAsync("runs/run-e2e/reports/validation.json"));
        Assert.NotNull(await _blobs.GetPropertiesAsync("runs/run-e2e/reports/results.json"));
        Assert.Equal(1, context.Calls.Count(c => c == "SubmitJob"));
    }

    [Fact]
    public async Task UnfitDataset_FailsWithTheFirstErrorsAndStartsNoJob()
    {
        await Drop("datasets/bad.jsonl", Rows.Jsonl(Rows.ManyChats(20)) + "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n");
        var context = new InlineOrchestrationContext("run-bad", _clock, _activities);

        RunOutcome outcome = await FineTuningOrchestrator.RunAsync(context, new RunRequest { DatasetBlob = "datasets/bad.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("line 21, messages[0].role", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("SubmitJob", context.Calls);
        Assert.Equal(RunStatus.Failed, (await ((IRunStore)_tables).GetAsync("run-bad"))!.Status);
    }

    [Fact]
    public async Task CancelDuringMonitoring_CancelsTheProviderJob()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        var context = new InlineOrchestrationContext("run-cancel", _clock, _activities);
        context.AfterActivity = name =>
        {
            if (name == "SubmitJob") context.Raise(FineTuningOrchestrator.CancelEvent, true);
        };

        RunOutcome outcome = await FineTuningOrchestrator.RunAsync(context, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Cancelled, outcome.Status);
        Assert.Contains("CancelJob", context.Calls);
        RunRow? run = await ((IRunStore)_tables).GetAsync("run-cancel");
        Assert.Equal("cancelled", run!.JobStatus);
    }

    [Fact]
    public async Task Deadline_CancelsAStalledJobAndFailsTheRunWithATimeout()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        _faults.Add(JobFault.StallInQueue);
        var context = new InlineOrchestrationContext("run-deadline", _clock, _activities);

        RunOutcome outcome = await FineTuningOrchestrator.RunAsync(context, new RunRequest { DatasetBlob = "datasets/support.jsonl", Deadline = TimeSpan.FromHours(48) });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("Timed out", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("CancelJob", context.Calls);
        Assert.True(context.Calls.Count(c => c == "GetJob") < 400, "polling backs off");
    }

    [Fact]
    public async Task FailingJob_EndsTheRunAsFailedWithTheProvidersError()
    {
        await Drop("datasets/support.jsonl", SupportDataset());
        _faults.Add(JobFault.Fail);
        var context = new InlineOrchestrationContext("run-fail", _clock, _activities);

        RunOutcome outcome = await FineTuningOrchestrator.RunAsync(context, new RunRequest { DatasetBlob = "datasets/support.jsonl" });

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("server_error", outcome.Error, StringComparison.Ordinal);
    }
}

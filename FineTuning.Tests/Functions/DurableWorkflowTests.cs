using System.Text;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;
using FineTuning.Emulator;
using FineTuning.Functions;
using FineTuning.Functions.Activities;
using FineTuning.Functions.Http;
using FineTuning.Functions.Orchestrators;
using FineTuning.Functions.Triggers;
using FineTuning.Tests.Datasets;
using FineTuning.Tests.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace FineTuning.Tests.Functions;

/// <summary>
/// The Azure host's workflow as Durable Functions runs it, short of the Functions host itself: its orchestrator functions
/// on the Durable Task engine (in process, with its replay), its activity functions from its own composition
/// (<see cref="FineTuningHostExtensions.AddFineTuning"/>) over Azurite's blobs and tables, and the provider through the
/// OpenAI SDK to the emulator.
/// </summary>
[Collection(AzuriteTests.Name)]
public sealed class DurableWorkflowTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FaultPlan _faults = new();
    private EmulatorServer _emulator = null!;
    private IHost _app = null!;
    private DurableTaskTestHost _durable = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Speed = 600, Faults = _faults });
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FineTuning:Storage:Connection"] = azurite.ConnectionString,
            ["FineTuning:Provider:Kind"] = "Emulator",
            ["FineTuning:Provider:Endpoint"] = _emulator.OpenAIEndpoint.ToString(),
            ["FineTuning:Provider:ApiKey"] = "test-key",
        });
        builder.AddFineTuning();
        _app = builder.Build();
        var functions = ActivatorUtilities.CreateInstance<WorkflowActivityFunctions>(_app.Services);
        _durable = await DurableTaskTestHost.StartAsync(tasks =>
        {
            // Typed inputs, so the engine reads each input as what the function's GetInput<T> asks for (in Functions the
            // trigger binding does that); the function itself is the host's.
            tasks.AddOrchestratorFunc<RunRequest, RunOutcome>(nameof(FineTuningOrchestrator), (context, _) => FineTuningOrchestration.RunAsync(context));
            tasks.AddOrchestratorFunc<MonitorInput, MonitorResult>(JobMonitor.Name, (context, _) => FineTuningOrchestration.MonitorAsync(context));
            tasks.AddActivityFunc<PlanShardsInput, ShardPlan>(nameof(PlanShards), (_, input) => functions.PlanShardsAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<ValidateShardInput, ShardValidated>(nameof(ValidateShard), (_, input) => functions.ValidateShardAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<MergeValidationInput, ValidationSummary>(nameof(MergeValidation), (_, input) => functions.MergeValidationAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<SplitInput, SplitSummary>(nameof(SplitDataset), (_, input) => functions.SplitDatasetAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<string, ProviderFile>(nameof(UploadFile), (_, blob) => functions.UploadFileAsync(blob, CancellationToken.None));
            tasks.AddActivityFunc<string, ProviderFile>(nameof(GetFileStatus), (_, id) => functions.GetFileStatusAsync(id, CancellationToken.None));
            tasks.AddActivityFunc<JobRequest, JobSnapshot>(nameof(SubmitJob), (_, request) => functions.SubmitJobAsync(request, CancellationToken.None));
            tasks.AddActivityFunc<string, JobSnapshot>(nameof(GetJob), (_, id) => functions.GetJobAsync(id, CancellationToken.None));
            tasks.AddActivityFunc<string, JobSnapshot>(nameof(CancelJob), (_, id) => functions.CancelJobAsync(id, CancellationToken.None));
            tasks.AddActivityFunc<CollectResultsInput, ResultsSummary>(nameof(CollectResults), (_, input) => functions.CollectResultsAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<RunRow, bool>(nameof(UpdateRun), (_, row) => functions.UpdateRunAsync(row, CancellationToken.None));
            tasks.AddActivityFunc<ModelRow, bool>(nameof(RegisterModel), (_, row) => functions.RegisterModelAsync(row, CancellationToken.None));
        });
    }

    public async Task DisposeAsync()
    {
        await _durable.DisposeAsync();
        _app.Dispose();
        await _emulator.DisposeAsync();
    }

    private async Task<string> DropDataset()
    {
        string container = $"datasets-{Guid.NewGuid():N}"[..24];
        string dataset = Rows.Jsonl(Rows.ManyChats(60, i => i % 3 == 0 ? "billing" : i % 3 == 1 ? "shipping" : "returns"));
        await _app.Services.GetRequiredService<IBlobStore>().WriteAsync($"{container}/support.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(dataset), ct).AsTask());
        return $"{container}/support.jsonl";
    }

    private async Task<string> Start(string dataset)
    {
        string runId = $"run-{Guid.NewGuid():N}";
        await _durable.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FineTuningOrchestrator),
            new RunRequest { DatasetBlob = dataset, Suffix = "support", PollInterval = TimeSpan.FromSeconds(1) },
            new StartOrchestrationOptions(InstanceId: runId));
        return runId;
    }

    private async Task<RunOutcome> Finish(string runId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        OrchestrationMetadata done = await _durable.Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);
        Assert.True(done.RuntimeStatus == OrchestrationRuntimeStatus.Completed, $"{done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        return done.ReadOutputAs<RunOutcome>()!;
    }

    [Fact]
    public async Task DatasetDrop_StartsOneRunWithTheSidecarsOptions_HoweverOftenTheEventComes()
    {
        IBlobStore blobs = _app.Services.GetRequiredService<IBlobStore>();
        string name = $"drop-{Guid.NewGuid():N}";
        string dataset = Rows.Jsonl(Rows.ManyChats(30, i => i % 2 == 0 ? "billing" : "shipping"));
        await blobs.WriteAsync($"datasets/{name}.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(dataset), ct).AsTask());
        await blobs.WriteAsync($"datasets/{name}.run.json", (s, ct) => s.WriteAsync("{\"suffix\": \"dropped\", \"pollInterval\": \"00:00:01\"}"u8.ToArray(), ct).AsTask());
        var drop = new DatasetDrop(blobs, NullLogger<DatasetDrop>.Instance);

        await drop.RunAsync(Stream.Null, $"{name}.run.json", _durable.Client, CancellationToken.None); // not a dataset
        await drop.RunAsync(Stream.Null, $"{name}.jsonl", _durable.Client, CancellationToken.None);
        (RunRequest? request, _) = await RunApi.DropRequestAsync(blobs, $"datasets/{name}.jsonl");
        string runId = (await FineTuningOrchestrator.RunIdForAsync(blobs, request!))!;
        OrchestrationMetadata? started = await _durable.Client.GetInstanceAsync(runId);
        await drop.RunAsync(Stream.Null, $"{name}.jsonl", _durable.Client, CancellationToken.None); // the event again

        Assert.NotNull(started);
        Assert.Equal(started.CreatedAt, (await _durable.Client.GetInstanceAsync(runId))!.CreatedAt);
        RunOutcome outcome = await Finish(runId);
        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Contains(":dropped:", outcome.ModelId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_WhileTheJobIsQueued_CancelsTheProvidersJobAndEndsTheRunCancelled()
    {
        _faults.Add(JobFault.StallInQueue);
        string runId = await Start(await DropDataset());
        var runs = _app.Services.GetRequiredService<IRunStore>();
        string? jobId = null;
        for (var wait = System.Diagnostics.Stopwatch.StartNew(); jobId is null && wait.Elapsed < TimeSpan.FromMinutes(1); await Task.Delay(100))
        {
            jobId = (await runs.GetAsync(runId))?.JobId;
        }

        Assert.NotNull(jobId);
        await _durable.Client.RaiseEventAsync(runId, FineTuningOrchestrator.CancelEvent, true);
        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.Cancelled, outcome.Status);
        Assert.Equal("cancelled", (await _app.Services.GetRequiredService<IFineTuningProvider>().GetJobAsync(jobId!)).Status);
        Assert.Equal(RunStatus.Cancelled, (await runs.GetAsync(runId))!.Status);
        // POST /api/runs with the same request may start a new attempt: the host reads this one as ended.
        Assert.Equal(RunApi.AttemptState.Ended, await RunStates.OfAsync(_durable.Client, runId, CancellationToken.None));
    }

    [Fact]
    public async Task Run_OnTheDurableTaskEngine_WithAzureStorage_RegistersTheModelWithLineage()
    {
        string dataset = await DropDataset();
        string runId = await Start(dataset);

        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Equal(RunApi.AttemptState.Succeeded, await RunStates.OfAsync(_durable.Client, runId, CancellationToken.None));
        Assert.Equal(RunApi.AttemptState.Absent, await RunStates.OfAsync(_durable.Client, "run-none", CancellationToken.None));
        ModelRow? model = await _app.Services.GetRequiredService<IModelRegistry>().GetAsync(outcome.ModelId!);
        Assert.NotNull(model);
        Assert.Equal(runId, model.RunId);
        Assert.Equal(dataset, model.DatasetBlob);
        Assert.Equal(3, model.TrainRowsByTopic.Count);
        RunRow? run = await _app.Services.GetRequiredService<IRunStore>().GetAsync(runId);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal(outcome.ModelId, run.ModelId);
        Assert.NotEmpty(await _app.Services.GetRequiredService<IBlobStore>().ListAsync($"runs/{runId}/").ToListAsync());
    }
}

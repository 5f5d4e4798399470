using System.Net;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
using FineTuning.Functions.Http;
using FineTuning.Functions.Triggers;
using FineTuning.Tests.Datasets;
using FineTuning.Tests.Storage;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace FineTuning.Tests.Functions;

/// <summary>The Azure host's workflow as Durable Functions runs it, short of the Functions runtime (see <see cref="AzureHost"/>).</summary>
[Collection(AzuriteTests.Name)]
public sealed class DurableWorkflowTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FaultPlan _faults = new();
    private AzureHost _host = null!;

    public async Task InitializeAsync() => _host = await AzureHost.StartAsync(azurite, _faults);

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    private Task<string> DropDataset() => _host.WriteDatasetAsync(Rows.Jsonl(Rows.ManyChats(60, i => i % 3 == 0 ? "billing"
                    : i % 3 == 1 ? "shipping"
                    : "returns")));

    private async Task<string> Start(string dataset, bool evaluate = false, string approval = "manual")
    {
        string runId = $"run-{Guid.NewGuid():N}";
        await _host.Durable.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(FineTuningOrchestrator),
            new RunRequest
            {
                DatasetBlob = dataset,
                Suffix = "support",
                PollInterval = TimeSpan.FromSeconds(1),
                Evaluate = evaluate,
                Approval = approval,
            },
            new StartOrchestrationOptions(InstanceId: runId)
        );
        return runId;
    }

    /// <summary>300 conversations over three topics: 30 held out for the evaluation.</summary>
    private Task<string> DropEvaluationDataset() => _host.WriteDatasetAsync(Rows.Jsonl(Rows.ManyChats(300, i => i % 3 == 0 ? "billing"
                    : i % 3 == 1 ? "shipping"
                    : "returns")));

    /// <summary>Waits until the run's row says <paramref name="status"/>.</summary>
    private async Task WaitForStatus(string runId, RunStatus status)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while ((await _host.Get<IRunStore>().GetAsync(runId))?.Status != status)
            await Task.Delay(100, timeout.Token);
    }

    private async Task<RunOutcome> Finish(string runId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        OrchestrationMetadata done = await _host.Durable.Client.WaitForInstanceCompletionAsync(
            runId,
            getInputsAndOutputs: true,
            timeout.Token
        );
        Assert.True(
            done.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            $"{done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}"
        );
        return done.ReadOutputAs<RunOutcome>()!;
    }

    /// <summary>The client the trigger binds for a blob of the datasets container (it reads nothing through it).</summary>
    private Azure.Storage.Blobs.BlobClient Blob(string name) => new(azurite.ConnectionString, "datasets", name);

    [Fact]
    public async Task DatasetDrop_StartsOneRunWithTheSidecarsOptions_HoweverOftenTheEventComes()
    {
        IBlobStore blobs = _host.Get<IBlobStore>();
        string name = $"drop-{Guid.NewGuid():N}";
        string dataset = Rows.Jsonl(Rows.ManyChats(30, i => i % 2 == 0 ? "billing" : "shipping"));
        await blobs.WriteAsync($"datasets/{name}.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(dataset), ct).AsTask());
        await blobs.WriteAsync($"datasets/{name}.run.json", (s, ct) =>
            s.WriteAsync("{\"suffix\": \"dropped\", \"pollInterval\": \"00:00:01\"}"u8.ToArray(), ct).AsTask()
        );
        var drop = new DatasetDrop(blobs, NullLogger<DatasetDrop>.Instance);

        await drop.RunAsync(Blob($"{name}.run.json"), $"{name}.run.json", _host.Durable.Client, CancellationToken.None); // not a dataset
        await drop.RunAsync(Blob($"{name}.jsonl"), $"{name}.jsonl", _host.Durable.Client, CancellationToken.None);
        (RunRequest? request, _) = await RunApi.DropRequestAsync(blobs, $"datasets/{name}.jsonl");
        string runId = (await FineTuningOrchestrator.RunIdForAsync(blobs, request!))!;
        OrchestrationMetadata? started = await _host.Durable.Client.GetInstanceAsync(runId);
        await drop.RunAsync(Blob($"{name}.jsonl"), $"{name}.jsonl", _host.Durable.Client, CancellationToken.None); // the event again

        Assert.NotNull(started);
        Assert.Equal(started.CreatedAt, (await _host.Durable.Client.GetInstanceAsync(runId))!.CreatedAt);
        RunOutcome outcome = await Finish(runId);
        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Contains(":dropped:", outcome.ModelId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADatasetUploadedOverTheApi_IsListed_AndStartsNoRunWhenItsBlobEventComes()
    {
        IBlobStore blobs = _host.Get<IBlobStore>();
        string name = $"upload-{Guid.NewGuid():N}.jsonl";
        byte[] content = Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(30)));

        (DatasetInfo? uploaded, ApiProblem? problem) = await DatasetApi.UploadAsync(blobs, name, new MemoryStream(content));
        await new DatasetDrop(blobs, NullLogger<DatasetDrop>.Instance).RunAsync(
            Blob(name),
            name,
            _host.Durable.Client,
            CancellationToken.None
        );
        (RunRequest? request, _) = await RunApi.DropRequestAsync(blobs, $"datasets/{name}");
        IReadOnlyList<DatasetInfo> listed = await DatasetApi.ListAsync(blobs);

        Assert.Null(problem);
        Assert.Equal(
            (content.LongLength, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))),
            (uploaded!.Bytes, uploaded.Sha256)
        );
        Assert.Null(await _host.Durable.Client.GetInstanceAsync((await FineTuningOrchestrator.RunIdForAsync(blobs, request!))!));
        Assert.Contains(listed, d => d.Name == name && d.Bytes == content.LongLength);
        Assert.NotNull(DatasetApi.BlobFor("../x.jsonl").Problem);
        Assert.NotNull(DatasetApi.BlobFor("notes.txt").Problem);
    }

    [Fact]
    public async Task Cancel_WhileTheJobIsQueued_CancelsTheProvidersJobAndEndsTheRunCancelled()
    {
        _faults.Add(JobFault.StallInQueue);
        string runId = await Start(await DropDataset());
        var runs = _host.Get<IRunStore>();
        string? jobId = null;
        for (
            var wait = System.Diagnostics.Stopwatch.StartNew();
            jobId is null && wait.Elapsed < TimeSpan.FromMinutes(1);
            await Task.Delay(100)
        )
        {
            jobId = (await runs.GetAsync(runId))?.JobId;
        }

        Assert.NotNull(jobId);
        await _host.Durable.Client.RaiseEventAsync(runId, FineTuningOrchestrator.CancelEvent, true);
        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.Cancelled, outcome.Status);
        Assert.Equal("cancelled", (await _host.Get<IFineTuningProvider>().GetJobAsync(jobId!)).Status);
        Assert.Equal(RunStatus.Cancelled, (await runs.GetAsync(runId))!.Status);
        // POST /api/runs with the same request may start a new attempt: the host reads this one as ended.
        Assert.Equal(RunApi.AttemptState.Ended, await RunStates.OfAsync(_host.Durable.Client, runId, CancellationToken.None));
    }

    [Fact]
    public async Task AProviderThatAsksForLongerThanACallWaits_IsWaitedForOnADurableTimer_ThenTheRunGoesOn()
    {
        string dataset = await DropDataset();
        // Longer than the host's MaxRetryWait: the upload activity fails at once with ProviderBusyException, which the
        // orchestrator must see as itself (not as the engine's TaskFailedException) to wait for it.
        _faults.Add(new Fault("POST", "/files", Status: 429, RetryAfterSeconds: 4));
        string runId = await Start(dataset);
        var started = DateTimeOffset.UtcNow;

        RunOutcome outcome = await Finish(runId);

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        Assert.Equal(0, _faults.Pending);
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(4), "the run waited as long as the provider asked");
    }

    [Fact]
    public async Task Evaluation_OnTheDurableEngine_WaitsForApproval_ThenPromotesTheModel()
    {
        await _host.DisposeAsync();
        _host = await AzureHost.StartAsync(azurite, _faults, new EmulatorSkill { Base = 0.3, FineTuned = 0.9 });
        string runId = await Start(await DropEvaluationDataset(), evaluate: true);

        await WaitForStatus(runId, RunStatus.AwaitingApproval);
        RunRow waiting = (await _host.Get<IRunStore>().GetAsync(runId))!;
        await _host.Durable.Client.RaiseEventAsync(runId, FineTuningOrchestrator.ApproveEvent, new Decision("ana", "better everywhere"));
        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStages.AwaitApproval, waiting.Stage);
        Assert.True(waiting.Evaluation!.Passed);
        Assert.Equal(30, waiting.Evaluation.Rows);
        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        ModelRow model = (await _host.Get<IModelRegistry>().GetAsync(outcome.ModelId!))!;
        Assert.Equal(ModelStages.Production, model.Stage);
        Assert.Equal(("ana", "better everywhere"), (model.StageHistory[^1].By, model.StageHistory[^1].Why));
        Assert.NotNull(await _host.Get<IBlobStore>().GetPropertiesAsync($"runs/{runId}/reports/evaluation.json"));
    }

    [Fact]
    public async Task Promote_OverTheApi_OnAnAccount_DeploysThroughModelPromotion_ThenRollsBack()
    {
        await _host.DisposeAsync();
        _host = await AzureHost.StartAsync(azurite, _faults, new EmulatorSkill { Base = 0.3, FineTuned = 0.9 }, deploys: true);
        var api = ActivatorUtilities.CreateInstance<RunsApi>(_host.App.Services);
        var http = new FunctionsHttp();
        var outcomes = new List<RunOutcome>();
        foreach (int rows in new[] { 300, 330 })
        {
            string dataset = await _host.WriteDatasetAsync(Rows.Jsonl(Rows.ManyChats(rows, i => i % 2 == 0 ? "billing" : "shipping")));
            string runId = await Start(dataset, evaluate: true, approval: "auto");
            outcomes.Add(await Finish(runId));
        }

        var registry = _host.Get<IModelRegistry>();
        ModelRow first = (await registry.GetAsync(outcomes[0].ModelId!))!;
        ModelRow second = (await registry.GetAsync(outcomes[1].ModelId!))!;
        Assert.Equal((ModelStages.Archived, ModelStages.Production), (first.Stage, second.Stage));
        Assert.Null(first.Deployment); // archived when the second became production: its deployment was removed

        string body = """{"by": "ana", "why": "roll back"}""";
        Task<HttpResponseData> Promote() =>
            api.ChangeModelAsync(
                http.Request("POST", $"/api/models/{first.ModelId}/promote", body),
                first.ModelId,
                "promote",
                _host.Durable.Client,
                CancellationToken.None
            );
        HttpResponseData started = await Promote();
        HttpResponseData again = await Promote(); // asked twice while it deploys: one promotion

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        PromotionStarted promotion = JsonSerializer.Deserialize<PromotionStarted>(FunctionsHttp.Body(started), ReportSerializer.Options)!;
        Assert.Equal(promotion, JsonSerializer.Deserialize<PromotionStarted>(FunctionsHttp.Body(again), ReportSerializer.Options));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        OrchestrationMetadata done = await _host.Durable.Client.WaitForInstanceCompletionAsync(promotion.Promotion, true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.True(done.ReadOutputAs<PromotionOutcome>()!.Promoted);
        ModelRow rolledBack = (await registry.GetAsync(first.ModelId))!;
        Assert.Equal(ModelStages.Production, rolledBack.Stage);
        Assert.Equal(promotion.Deployment, rolledBack.Deployment);
        Assert.Equal(("ana", "roll back"), (rolledBack.StageHistory[^1].By, rolledBack.StageHistory[^1].Why));
        Assert.Equal(ModelStages.Archived, (await registry.GetAsync(second.ModelId))!.Stage);
        FineTuning.OpenAI.ArmModelDeployments deployments = _host.Deployments();
        Assert.True((await deployments.GetAsync(promotion.Deployment, CancellationToken.None))!.Succeeded);
        Assert.Null(await deployments.GetAsync(second.Deployment!, CancellationToken.None)); // the replaced model's, removed
    }

    [Fact]
    public async Task NoApproval_OnTheDurableEngine_EndsNotApprovedOnTheDurableTimer_AndTheModelStaysACandidate()
    {
        await _host.DisposeAsync();
        _host = await AzureHost.StartAsync(azurite, _faults, new EmulatorSkill { Base = 0.3, FineTuned = 0.9 });
        string runId = $"run-{Guid.NewGuid():N}";
        // Started as the API would not allow (at least a minute): the timer's wait is the engine's, not the test's.
        await _host.Durable.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(FineTuningOrchestrator),
            new RunRequest
            {
                DatasetBlob = await DropEvaluationDataset(),
                Suffix = "support",
                PollInterval = TimeSpan.FromSeconds(1),
                Evaluate = true,
                ApprovalTimeout = TimeSpan.FromSeconds(3),
            },
            new StartOrchestrationOptions(InstanceId: runId)
        );

        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.NotApproved, outcome.Status);
        Assert.Contains("stays a candidate", outcome.Error, StringComparison.Ordinal);
        ModelRow model = Assert.Single(await _host.Get<IModelRegistry>().ListAsync(), m => m.RunId == runId);
        Assert.Equal(ModelStages.Candidate, model.Stage);
    }

    [Fact]
    public async Task Reject_OnTheDurableEngine_RegistersTheModelRejected_AndLeavesNoDeployment()
    {
        await _host.DisposeAsync();
        _host = await AzureHost.StartAsync(azurite, _faults, new EmulatorSkill { Base = 0.3, FineTuned = 0.9 }, deploys: true);
        string runId = await Start(await DropEvaluationDataset(), evaluate: true);

        await WaitForStatus(runId, RunStatus.AwaitingApproval);
        await _host.Durable.Client.RaiseEventAsync(runId, FineTuningOrchestrator.RejectEvent, new Decision("ana", "tone is off"));
        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.Rejected, outcome.Status);
        Assert.Contains("Rejected by ana: tone is off", outcome.Error, StringComparison.Ordinal);
        ModelRow model = Assert.Single(await _host.Get<IModelRegistry>().ListAsync(), m => m.RunId == runId);
        Assert.Equal((ModelStages.Rejected, null), (model.Stage, model.Deployment));
        Assert.Equal(("ana", "tone is off"), (model.StageHistory[^1].By, model.StageHistory[^1].Why));
        // The evaluation's short-lived deployment was made and removed; nothing was deployed for production.
        string evaluation = FineTuningOrchestrator.DeploymentName("support", runId, "eval");
        Assert.Contains(_host.Emulator.AnswerCounts().Keys, k => k.Model == evaluation); // the fine-tuned model answered there
        Assert.Empty(await EmulatedAccount.DeploymentsAsync(_host.Emulator, AzureHost.Account, "test-key"));
    }

    [Fact]
    public async Task Evaluation_OnTheDurableEngine_RejectsAModelThatRegressesOnATopic()
    {
        await _host.DisposeAsync();
        _host = await AzureHost.StartAsync(
            azurite,
            _faults,
            new EmulatorSkill
            {
                Base = 0.3,
                FineTuned = 0.9,
                FineTunedByTopic = new Dictionary<string, double> { ["shipping"] = 0.0 },
            }
        );
        string runId = await Start(await DropEvaluationDataset(), evaluate: true);

        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.Rejected, outcome.Status);
        Assert.Contains("topic 'shipping' fell by", outcome.Error, StringComparison.Ordinal);
        Assert.Equal(ModelStages.Rejected, (await _host.Get<IModelRegistry>().GetAsync(outcome.ModelId!))!.Stage);
    }

    [Fact]
    public async Task Run_OnTheDurableTaskEngine_WithAzureStorage_RegistersTheModelWithLineage()
    {
        string dataset = await DropDataset();
        string runId = await Start(dataset);

        RunOutcome outcome = await Finish(runId);

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Equal(RunApi.AttemptState.Succeeded, await RunStates.OfAsync(_host.Durable.Client, runId, CancellationToken.None));
        Assert.Equal(RunApi.AttemptState.Absent, await RunStates.OfAsync(_host.Durable.Client, "run-none", CancellationToken.None));
        ModelRow? model = await _host.Get<IModelRegistry>().GetAsync(outcome.ModelId!);
        Assert.NotNull(model);
        Assert.Equal(runId, model.RunId);
        Assert.Equal(dataset, model.DatasetBlob);
        Assert.Equal(3, model.TrainRowsByTopic.Count);
        RunRow? run = await _host.Get<IRunStore>().GetAsync(runId);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        Assert.Equal(outcome.ModelId, run.ModelId);
        Assert.NotEmpty(await _host.Get<IBlobStore>().ListAsync($"runs/{runId}/").ToListAsync());
    }
}

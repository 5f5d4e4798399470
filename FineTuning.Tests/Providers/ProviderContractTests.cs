using System.Text;
using System.Text.Json;
using Azure.Core;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Emulator;
using FineTuning.OpenAI;

namespace FineTuning.Tests.Providers;

/// <summary>FineTuning.OpenAI through the real OpenAI SDK over HTTP against the emulator, in both path layouts and auth styles.</summary>
public sealed class ProviderContractTests : IAsyncLifetime
{
    private const string Key = "test-key-not-a-secret";
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero));
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                ApiKey = Key,
                Time = _clock,
                Speed = 1,
                Steps = 150,
                SecondsPerStep = 10,
            }
        );

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    private OpenAIFineTuningProvider OpenAIStyle(string key = Key) =>
        OpenAIFineTuningProvider.Create(
            new ProviderOptions
            {
                Kind = ProviderKind.Emulator,
                Endpoint = _emulator.OpenAIEndpoint,
                ApiKey = key,
            }
        );

    private OpenAIFineTuningProvider AzureApiKey(string key = Key) =>
        OpenAIFineTuningProvider.Create(
            new ProviderOptions
            {
                Kind = ProviderKind.AzureOpenAI,
                Auth = AzureAuth.ApiKey,
                Endpoint = _emulator.AzureEndpoint,
                ApiKey = key,
            }
        );

    private static MemoryStream Dataset(int rows = 12) => new(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(rows))));

    private static JobRequest Supervised(string runId, string fileId) =>
        new(runId, "gpt-4.1-mini-2025-04-14", fileId, null, FineTuningMethod.Supervised, Suffix: "support", Seed: 7);

    public static TheoryData<string> Layouts => new() { "openai", "azure" };

    private IFineTuningProvider Provider(string layout) => layout == "azure" ? AzureApiKey() : OpenAIStyle();

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task UploadFile_ThenProcessed(string layout)
    {
        IFineTuningProvider provider = Provider(layout);

        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        Assert.StartsWith("file-", file.Id, StringComparison.Ordinal);
        Assert.Equal("train.jsonl", file.FileName);
        Assert.Equal(Dataset().Length, file.Bytes);
        Assert.Equal("uploaded", (await provider.GetFileAsync(file.Id)).Status);

        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("processed", (await provider.GetFileAsync(file.Id)).Status);
    }

    [Fact]
    public async Task FileOverThirtyMegabytes_UploadsInOneRequest_AsTheServiceAcceptsUpTo512MB()
    {
        // The web server's default request limit (30,000,000 bytes) turned a 106 MB training file into six retries
        // and an AggregateException; the service takes 512 MB in one request.
        byte[] content = new byte[40 * 1024 * 1024];
        byte[] row = Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(1)));
        for (int at = 0; at + row.Length <= content.Length; at += row.Length)
            row.CopyTo(content, at);

        ProviderFile file = await OpenAIStyle().UploadFileAsync("train.jsonl", new MemoryStream(content));

        Assert.Equal(content.Length, file.Bytes);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task LargeFile_GoesThroughTheUploadsApiInPartsAndArrivesWhole(string layout)
    {
        // Limits scaled down so the test moves kilobytes, not gigabytes: over 4 KiB goes in 1 KiB parts.
        var options = new ProviderOptions
        {
            Kind = layout == "azure" ? ProviderKind.AzureOpenAI : ProviderKind.Emulator,
            Auth = AzureAuth.ApiKey,
            Endpoint = layout == "azure" ? _emulator.AzureEndpoint : _emulator.OpenAIEndpoint,
            ApiKey = Key,
            SingleUploadLimitBytes = 4096,
            UploadPartBytes = 1024,
            UploadParallelism = 3,
        };
        IFineTuningProvider provider = OpenAIFineTuningProvider.Create(options);
        byte[] content = Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(200)));
        Assert.True(content.Length > 10 * 1024);

        ProviderFile file = await provider.UploadFileAsync("big.jsonl", new MemoryStream(content));

        Assert.Equal(content.Length, file.Bytes);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("api-key", Key);
        byte[] stored = await http.GetByteArrayAsync(new Uri(_emulator.OpenAIEndpoint, $"files/{file.Id}/content"));
        Assert.Equal(content, stored);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task Job_MovesThroughItsStatusesToAFineTunedModel(string layout)
    {
        IFineTuningProvider provider = Provider(layout);
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());

        ProviderJob job = await provider.CreateJobAsync(Supervised("run-1", file.Id));
        Assert.Equal(JobStatuses.ValidatingFiles, job.Status);
        Assert.Equal("run-1", job.Metadata["run_id"]);
        Assert.False(job.IsFinished);

        _clock.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(JobStatuses.Queued, (await provider.GetJobAsync(job.Id)).Status);
        _clock.Advance(TimeSpan.FromSeconds(30));
        ProviderJob running = await provider.GetJobAsync(job.Id);
        Assert.Equal(JobStatuses.Running, running.Status);
        Assert.NotNull(running.EstimatedFinish);

        _clock.Advance(TimeSpan.FromHours(1));
        ProviderJob done = await provider.GetJobAsync(job.Id);
        Assert.Equal(JobStatuses.Succeeded, done.Status);
        Assert.True(done.IsFinished);
        Assert.StartsWith("ft:gpt-4.1-mini-2025-04-14:emulator:support:", done.FineTunedModel, StringComparison.Ordinal);
        Assert.True(done.TrainedTokens > 0);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(null, 8)] // auto: the cookbook's default rule for 12 examples (100 // 12)
    public async Task Hyperparameters_AreReportedAsUsed_OnceTheJobStarts(int? asked, int used)
    {
        IFineTuningProvider provider = OpenAIStyle();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());

        ProviderJob job = await provider.CreateJobAsync(
            Supervised("run-hyper", file.Id) with
            {
                Hyperparameters = asked is null ? null : new Hyperparameters(Epochs: asked),
            }
        );
        Hyperparameters? before = job.Used;
        _clock.Advance(TimeSpan.FromHours(2));
        ProviderJob done = await provider.GetJobAsync(job.Id);

        Assert.Equal(asked is null ? null : new Hyperparameters(Epochs: asked), before);
        Assert.Equal(JobStatuses.Succeeded, done.Status);
        Assert.Equal(used, done.Used?.Epochs);
        Assert.Equal(1, done.Used?.BatchSize);
        Assert.NotNull(done.Used?.LearningRateMultiplier);
    }

    [Fact]
    public async Task FindJobByRunId_FindsTheJobSoSubmissionIsExactlyOnce()
    {
        IFineTuningProvider provider = OpenAIStyle();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        for (int i = 0; i < 120; i++)
        {
            await provider.CreateJobAsync(Supervised($"other-{i}", file.Id)); // more than one page of jobs
        }

        Assert.Null(await provider.FindJobByRunIdAsync("run-42"));
        ProviderJob created = await provider.CreateJobAsync(Supervised("run-42", file.Id));

        ProviderJob? found = await provider.FindJobByRunIdAsync("run-42");

        Assert.Equal(created.Id, found?.Id);
    }

    [Fact]
    public async Task Events_AreReadAcrossPagesOldestFirstWithMetrics()
    {
        IFineTuningProvider provider = OpenAIStyle();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        ProviderJob job = await provider.CreateJobAsync(Supervised("run-events", file.Id));
        _clock.Advance(TimeSpan.FromHours(2));

        IReadOnlyList<ProviderEvent> events = await provider.GetEventsAsync(job.Id);

        Assert.True(events.Count > 150, $"{events.Count} events");
        Assert.Equal(events.OrderBy(e => e.CreatedAt).Select(e => e.Id), events.Select(e => e.Id));
        ProviderEvent[] metrics = events.Where(e => e.Type == "metrics").ToArray();
        Assert.Equal(150, metrics.Length);
        double first = metrics[0].Data!.Value.GetProperty("train_loss").GetDouble();
        double last = metrics[^1].Data!.Value.GetProperty("train_loss").GetDouble();
        Assert.True(last < first, "loss falls");
    }

    [Fact]
    public async Task CheckpointsAndResults_CarryFallingLossAndRisingAccuracy()
    {
        IFineTuningProvider provider = OpenAIStyle();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        ProviderJob job = await provider.CreateJobAsync(Supervised("run-results", file.Id));
        Assert.Empty(await provider.GetResultsAsync(job.Id));
        _clock.Advance(TimeSpan.FromHours(2));

        IReadOnlyList<ProviderCheckpoint> checkpoints = await provider.GetCheckpointsAsync(job.Id);
        IReadOnlyList<ResultRow> results = await provider.GetResultsAsync(job.Id);

        Assert.True(checkpoints.Count >= 3);
        Assert.Equal(150, checkpoints[^1].Step);
        Assert.True(checkpoints[^1].Metrics["valid_loss"] < checkpoints[0].Metrics["valid_loss"]);
        Assert.Contains(":ckpt-step-150", checkpoints[^1].Model, StringComparison.Ordinal);
        Assert.Equal(150, results.Count);
        Assert.True(results[^1].ValidLoss < results[0].ValidLoss);
        Assert.True(results[^1].ValidAccuracy > results[0].ValidAccuracy);
    }

    [Fact]
    public async Task PauseAndResume_StopTheClockOfTheJob_AndPausedIsNotFinished()
    {
        IFineTuningProvider provider = AzureApiKey();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        ProviderJob job = await provider.CreateJobAsync(Supervised("run-pause", file.Id));
        _clock.Advance(TimeSpan.FromSeconds(100));

        ProviderJob paused = await provider.PauseJobAsync(job.Id);
        _clock.Advance(TimeSpan.FromHours(5));
        ProviderJob stillPaused = await provider.GetJobAsync(job.Id);
        ProviderJob resumed = await provider.ResumeJobAsync(job.Id);

        Assert.Equal("paused", paused.Status);
        Assert.Equal("paused", stillPaused.Status);
        Assert.False(stillPaused.IsFinished);
        Assert.Equal(JobStatuses.Running, resumed.Status);
        await Assert.ThrowsAsync<ProviderRejectedException>(() => provider.ResumeJobAsync(job.Id));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(JobStatuses.Succeeded, (await provider.GetJobAsync(job.Id)).Status);
    }

    [Theory]
    [InlineData("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,2.0,0.5,2.1,0.48\n2,1.5,0.6,,0.55\n")]
    [InlineData(
        "step,train_loss,train_accuracy,validation_loss,validation_mean_token_accuracy\r\n1,2.0,0.5,2.1,0.48\r\n2,1.5,0.6,,0.55\r\n"
    )]
    public void ResultsCsv_ReadsBothSpellingsAndKeepsEmptyCellsMissing(string csv)
    {
        IReadOnlyList<ResultRow> rows = ResultsCsv.Parse(csv);

        Assert.Equal(2, rows.Count);
        Assert.Equal(0.48, rows[0].ValidAccuracy);
        Assert.Equal(2.1, rows[0].ValidLoss);
        Assert.Null(rows[1].ValidLoss);
        Assert.Equal(0.55, rows[1].ValidAccuracy);
        Assert.Equal(2, rows[1].Step);
    }

    [Fact]
    public async Task RecentEvents_ComeNewestFirstInOneRequest_AndGiveTheMonitorItsProgress()
    {
        IFineTuningProvider provider = AzureApiKey();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        ProviderJob job = await provider.CreateJobAsync(Supervised("run-progress", file.Id));
        var getJob = new FineTuning.Core.Workflow.Activities.GetJob(provider);
        Assert.Null((await getJob.RunAsync(job.Id)).Progress);

        _clock.Advance(TimeSpan.FromSeconds(100));
        IReadOnlyList<ProviderEvent> recent = await provider.GetRecentEventsAsync(job.Id, 3);
        FineTuning.Core.Workflow.JobSnapshot early = await getJob.RunAsync(job.Id);
        _clock.Advance(TimeSpan.FromSeconds(200));
        FineTuning.Core.Workflow.JobSnapshot later = await getJob.RunAsync(job.Id);

        Assert.Equal(3, recent.Count);
        Assert.True(recent[0].CreatedAt >= recent[1].CreatedAt && recent[1].CreatedAt >= recent[2].CreatedAt);
        Assert.Equal(new FineTuning.Core.Workflow.TrainingProgress(4, 150, "train_loss", early.Progress!.Value), early.Progress);
        Assert.Equal(24, later.Progress!.Step);
        Assert.True(later.Progress.Value < early.Progress.Value, "loss falls");
        Assert.Equal(
            "Monitor (job running, step 24/150, train_loss "
                + later.Progress.Value!.Value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)
                + ")",
            new FineTuning.Core.Workflow.RunProgress(
                "Monitor",
                later.Status,
                later.Progress.Step,
                later.Progress.TotalSteps,
                later.Progress.Value,
                null,
                later.Progress.Metric
            ).Describe()
        );
        // With the job's epochs known, the line says which epoch the step is in (step 24 of 150 over 3 epochs: the first).
        Assert.Contains(
            "step 24/150, epoch 1/3,",
            new FineTuning.Core.Workflow.RunProgress("Monitor", later.Status, 24, 150, 0.5, null, "train_loss") { Epochs = 3 }.Describe(),
            StringComparison.Ordinal
        );
        Assert.Equal(3, new FineTuning.Core.Workflow.RunProgress("Monitor", Step: 150, TotalSteps: 150) { Epochs = 3 }.Epoch);
        Assert.Equal(2, new FineTuning.Core.Workflow.RunProgress("Monitor", Step: 51, TotalSteps: 150) { Epochs = 3 }.Epoch);
    }

    [Fact]
    public async Task SupervisedAndDpo_AreCreatedWithTheTypedClient_AndWhatItCannotSayGoesAsProtocolJson()
    {
        OpenAIFineTuningProvider provider = OpenAIStyle();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        var typedDpo = new JobRequest(
            "run-dpo-typed",
            "gpt-4.1-mini-2025-04-14",
            file.Id,
            null,
            FineTuningMethod.Dpo,
            Seed: 3,
            Hyperparameters: new Hyperparameters(Epochs: 2, Beta: 1)
        );
        var fractionalBeta = typedDpo with { RunId = "run-dpo-protocol", Hyperparameters = new Hyperparameters(Beta: 0.1) };

        Assert.True(provider.CanCreateTyped(Supervised("run-x", file.Id)));
        Assert.True(provider.CanCreateTyped(typedDpo));
        Assert.False(provider.CanCreateTyped(fractionalBeta));
        Assert.False(
            OpenAIFineTuningProvider
                .Create(
                    new ProviderOptions
                    {
                        Kind = ProviderKind.Emulator,
                        Endpoint = _emulator.OpenAIEndpoint,
                        ApiKey = Key,
                        TrainingType = "GlobalStandard",
                    }
                )
                .CanCreateTyped(Supervised("run-x", file.Id))
        );

        await provider.CreateJobAsync(typedDpo);
        await provider.CreateJobAsync(fractionalBeta);

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Key);
        async Task<JsonElement> Job(string runId)
        {
            using JsonDocument list = JsonDocument.Parse(
                await http.GetStringAsync(new Uri(_emulator.OpenAIEndpoint, $"fine_tuning/jobs?metadata[run_id]={runId}"))
            );
            return list.RootElement.GetProperty("data")[0].Clone();
        }

        JsonElement typed = await Job("run-dpo-typed");
        Assert.Equal("dpo", typed.GetProperty("method").GetProperty("type").GetString());
        Assert.Equal(2, typed.GetProperty("method").GetProperty("dpo").GetProperty("hyperparameters").GetProperty("n_epochs").GetInt32());
        Assert.Equal(1, typed.GetProperty("method").GetProperty("dpo").GetProperty("hyperparameters").GetProperty("beta").GetDouble());
        Assert.Equal(3, typed.GetProperty("seed").GetInt32());
        Assert.Equal(
            0.1,
            (await Job("run-dpo-protocol"))
                .GetProperty("method")
                .GetProperty("dpo")
                .GetProperty("hyperparameters")
                .GetProperty("beta")
                .GetDouble()
        );
    }

    [Fact]
    public async Task Cancel_RunningJobEndsCancelled_AndCancellingAgainIsAClearError()
    {
        IFineTuningProvider provider = AzureApiKey();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        ProviderJob job = await provider.CreateJobAsync(Supervised("run-cancel", file.Id));
        _clock.Advance(TimeSpan.FromSeconds(100));

        ProviderJob cancelled = await provider.CancelJobAsync(job.Id);
        _clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(JobStatuses.Cancelled, cancelled.Status);
        Assert.Equal(JobStatuses.Cancelled, (await provider.GetJobAsync(job.Id)).Status);
        ProviderException again = await Assert.ThrowsAsync<ProviderRejectedException>(() => provider.CancelJobAsync(job.Id));
        Assert.Equal(400, again.Status);
    }

    [Fact]
    public async Task MalformedTrainingFile_FailsTheJobWithTheProvidersErrorShape()
    {
        IFineTuningProvider provider = OpenAIStyle();
        ProviderFile file = await provider.UploadFileAsync(
            "bad.jsonl",
            new MemoryStream(Encoding.UTF8.GetBytes("{\"prompt\": \"a\", \"completion\": \"b\"}\n"))
        );
        ProviderJob job = await provider.CreateJobAsync(Supervised("run-bad", file.Id));
        _clock.Advance(TimeSpan.FromMinutes(5));

        ProviderJob failed = await provider.GetJobAsync(job.Id);

        Assert.Equal(JobStatuses.Failed, failed.Status);
        Assert.Equal("invalid_training_file", failed.Error?.Code);
        Assert.Equal("training_file", failed.Error?.Param);
        Assert.Contains("invalid training file", failed.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownJob_IsA404WithTheProvidersCodeAndParam()
    {
        ProviderException ex = await Assert.ThrowsAsync<ProviderRejectedException>(() => OpenAIStyle().GetJobAsync("ftjob-nope"));

        Assert.Equal(404, ex.Status);
        Assert.Equal("not_found", ex.Code);
        Assert.Equal("fine_tuning_job_id", ex.Param);
    }

    [Fact]
    public async Task BadRequest_KeepsTheParam()
    {
        ProviderException ex = await Assert.ThrowsAsync<ProviderRejectedException>(() =>
            OpenAIStyle().CreateJobAsync(Supervised("run-x", "file-missing"))
        );

        Assert.Equal(400, ex.Status);
        Assert.Equal("training_file", ex.Param);
    }

    [Fact]
    public async Task WrongApiKey_Is401AndSaysWhatToCheck()
    {
        ProviderException ex = await Assert.ThrowsAsync<ProviderRejectedException>(() => AzureApiKey("wrong-key").GetFileAsync("file-1"));

        Assert.Equal(401, ex.Status);
        Assert.Contains("api-key", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EntraId_SendsABearerTokenForTheCognitiveServicesScopeToTheV1Path_AndA401NamesTheRole()
    {
        // Bearer tokens are only sent over TLS, so this test answers at the transport (the HTTP boundary) instead of the emulator.
        var credential = new RecordingCredential("token-from-entra");
        var handler = new RecordingHandler();
        var provider = OpenAIFineTuningProvider.Create(
            new ProviderOptions
            {
                Kind = ProviderKind.AzureOpenAI,
                Auth = AzureAuth.EntraId,
                Endpoint = new Uri("https://contoso.openai.azure.com/openai/v1/"),
            },
            credential,
            new System.ClientModel.Primitives.HttpClientPipelineTransport(new HttpClient(handler))
        );

        ProviderException ex = await Assert.ThrowsAsync<ProviderRejectedException>(() => provider.GetJobAsync("ftjob-1"));

        Assert.Equal([OpenAIFineTuningProvider.AzureScope], credential.Scopes.Distinct());
        HttpRequestMessage request = Assert.Single(handler.Requests);
        Assert.Equal("https://contoso.openai.azure.com/openai/v1/fine_tuning/jobs/ftjob-1", request.RequestUri!.AbsoluteUri);
        Assert.Equal("Bearer token-from-entra", request.Headers.Authorization?.ToString());
        Assert.False(request.Headers.Contains("api-key"));
        Assert.Equal(403, ex.Status);
        Assert.Contains("Cognitive Services OpenAI Contributor", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Microsoft Entra ID", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("token-from-entra", ex.Message, StringComparison.Ordinal);
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return Task.FromResult(
                new HttpResponseMessage(System.Net.HttpStatusCode.Forbidden)
                {
                    Content = new StringContent(
                        """{"error":{"code":"PermissionDenied","message":"The principal lacks the required data action."}}""",
                        Encoding.UTF8,
                        "application/json"
                    ),
                }
            );
        }
    }

    [Fact]
    public async Task Graders_AreValidatedAndRunByTheService()
    {
        IFineTuningProvider provider = AzureApiKey();
        using JsonDocument good = JsonDocument.Parse(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Datasets", "real", "rft-foundry-countdown-train-25.grader.json"))
        );
        using JsonDocument bad = JsonDocument.Parse(
            """{"type":"string_check","name":"g","input":"x","reference":"y","operation":"equals"}"""
        );
        using JsonDocument check = JsonDocument.Parse(
            """{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{item.reference_answer}}","operation":"eq"}"""
        );
        using JsonDocument item = JsonDocument.Parse("""{"reference_answer":"42"}""");

        Assert.Empty(await provider.ValidateGraderAsync(good.RootElement));
        Assert.Contains(await provider.ValidateGraderAsync(bad.RootElement), p => p.Contains("operation", StringComparison.Ordinal));
        Assert.Equal(1.0, (await provider.RunGraderAsync(check.RootElement, "42", item.RootElement)).Reward);
        Assert.Equal(0.0, (await provider.RunGraderAsync(check.RootElement, "41", item.RootElement)).Reward);
    }

    [Fact]
    public void JobBody_CarriesMethodHyperparametersMetadataAndGrader()
    {
        using JsonDocument grader = JsonDocument.Parse(
            """{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{item.answer}}","operation":"eq"}"""
        );
        var rft = new JobRequest(
            "run-9",
            "o4-mini-2025-04-16",
            "file-t",
            "file-v",
            FineTuningMethod.Reinforcement,
            Hyperparameters: new Hyperparameters(Epochs: 2, ReasoningEffort: "medium"),
            Grader: grader.RootElement
        );

        using JsonDocument body = JsonDocument.Parse(OpenAIFineTuningProvider.JobBody(rft, "GlobalStandard"));
        JsonElement root = body.RootElement;

        Assert.Equal("reinforcement", root.GetProperty("method").GetProperty("type").GetString());
        JsonElement detail = root.GetProperty("method").GetProperty("reinforcement");
        Assert.Equal(2, detail.GetProperty("hyperparameters").GetProperty("n_epochs").GetInt32());
        Assert.Equal("auto", detail.GetProperty("hyperparameters").GetProperty("batch_size").GetString());
        Assert.Equal("medium", detail.GetProperty("hyperparameters").GetProperty("reasoning_effort").GetString());
        Assert.Equal("string_check", detail.GetProperty("grader").GetProperty("type").GetString());
        Assert.Equal("run-9", root.GetProperty("metadata").GetProperty("run_id").GetString());
        Assert.Equal("file-v", root.GetProperty("validation_file").GetString());
        Assert.Equal("GlobalStandard", root.GetProperty("trainingType").GetString());
    }

    private sealed class RecordingCredential(string token) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Scopes.AddRange(requestContext.Scopes);
            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}

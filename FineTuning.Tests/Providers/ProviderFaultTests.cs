using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Emulator;
using FineTuning.OpenAI;
using Microsoft.Extensions.Logging;

namespace FineTuning.Tests.Providers;

/// <summary>Injected provider faults: retried where safe, and job creation stays exactly-once when its answer is lost.</summary>
public sealed class ProviderFaultTests : IAsyncLifetime
{
    private const string Key = "fault-test-key";
    private readonly FaultPlan _faults = new();
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = Key, Faults = _faults });

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    private OpenAIFineTuningProvider Provider() => Emulated.Provider(_emulator, Key);

    private static MemoryStream Dataset() => new(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(12))));

    private async Task<int> JobsTagged(string runId)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using JsonDocument list = JsonDocument.Parse(
            await http.GetStringAsync(new Uri(_emulator.OpenAIEndpoint, $"fine_tuning/jobs?limit=100&metadata[run_id]={runId}"))
        );
        return list.RootElement.GetProperty("data").GetArrayLength();
    }

    [Fact]
    public async Task ALongRetryAfter_IsNotSleptThroughInTheCall_ItEndsItSayingHowLongToWait()
    {
        OpenAIFineTuningProvider provider = Provider();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        _faults.Add(new Fault("GET", "/files/", Status: 429, RetryAfterSeconds: 3600));

        var busy = await Assert.ThrowsAsync<ProviderBusyException>(() =>
            provider.GetFileAsync(file.Id).WaitAsync(TimeSpan.FromSeconds(30))
        );

        Assert.Equal(TimeSpan.FromHours(1), busy.RetryAfter);
        Assert.Equal(429, busy.Status);
        Assert.Equal(file.Id, (await provider.GetFileAsync(file.Id)).Id);
    }

    [Fact]
    public async Task RateLimitedAndServerErrors_AreRetriedHonouringRetryAfter()
    {
        OpenAIFineTuningProvider provider = Provider();
        _faults.Add(new Fault("POST", "/files", Status: 500));
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        _faults.Add(new Fault("GET", "/files/", Status: 429, RetryAfterSeconds: 1));
        _faults.Add(new Fault("GET", "/files/", Status: 503));

        var started = DateTimeOffset.UtcNow;
        ProviderFile again = await provider.GetFileAsync(file.Id);

        Assert.Equal(file.Id, again.Id);
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromSeconds(0.9), "waited for Retry-After");
    }

    [Fact]
    public async Task LostCreateResponse_FindsTheJobInsteadOfCreatingASecond()
    {
        OpenAIFineTuningProvider provider = Provider();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        _faults.Add(new Fault("POST", "/fine_tuning/jobs", DropResponse: true));

        ProviderJob job = await provider.CreateJobAsync(
            new JobRequest("run-lost", "gpt-4.1-mini", file.Id, null, FineTuningMethod.Supervised)
        );

        Assert.Equal("run-lost", job.Metadata["run_id"]);
        Assert.Equal(1, await JobsTagged("run-lost"));
    }

    [Fact]
    public async Task RateLimitedCreate_IsRetriedOnceItIsKnownNotToExist()
    {
        OpenAIFineTuningProvider provider = Provider();
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        _faults.Add(new Fault("POST", "/fine_tuning/jobs", Status: 429));

        ProviderJob job = await provider.CreateJobAsync(
            new JobRequest("run-429", "gpt-4.1-mini", file.Id, null, FineTuningMethod.Supervised)
        );

        Assert.Equal("run-429", job.Metadata["run_id"]);
        Assert.Equal(1, await JobsTagged("run-429"));
    }

    [Fact]
    public async Task ClientErrorOnCreate_IsNotRetried()
    {
        OpenAIFineTuningProvider provider = Provider();

        ProviderException ex = await Assert.ThrowsAsync<ProviderRejectedException>(() =>
            provider.CreateJobAsync(new JobRequest("run-400", "gpt-4.1-mini", "file-missing", null, FineTuningMethod.Supervised))
        );

        Assert.Equal(400, ex.Status);
        Assert.Equal(0, await JobsTagged("run-400"));
    }

    [Fact]
    public async Task SlowResponse_PastTheRequestTimeout_IsAbandonedAndRetried()
    {
        var options = new ProviderOptions
        {
            Kind = ProviderKind.Emulator,
            Endpoint = _emulator.OpenAIEndpoint,
            ApiKey = Key,
            RequestTimeout = TimeSpan.FromSeconds(1),
        };
        OpenAIFineTuningProvider provider = OpenAIFineTuningProvider.Create(options);
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        _faults.Add(new Fault("GET", "/files/", Delay: TimeSpan.FromSeconds(30)));

        var started = DateTimeOffset.UtcNow;
        ProviderFile again = await provider.GetFileAsync(file.Id);

        Assert.Equal(file.Id, again.Id);
        Assert.Equal(0, _faults.Pending);
        Assert.InRange(DateTimeOffset.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Logs_TellRetriesAndDecisions_AndNeverTheKey()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = Microsoft.Extensions.Logging.LoggerFactory.Create(builder =>
            builder.AddProvider(logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Debug)
        );
        OpenAIFineTuningProvider provider = OpenAIFineTuningProvider.Create(
            new ProviderOptions
            {
                Kind = ProviderKind.Emulator,
                Endpoint = _emulator.OpenAIEndpoint,
                ApiKey = Key,
            },
            loggerFactory: factory
        );
        _faults.Add(new Fault("POST", "/files", Status: 503));
        ProviderFile file = await provider.UploadFileAsync("train.jsonl", Dataset());
        _faults.Add(new Fault("POST", "/fine_tuning/jobs", DropResponse: true));
        await provider.CreateJobAsync(new JobRequest("run-logged", "gpt-4.1-mini", file.Id, null, FineTuningMethod.Supervised));

        string all = string.Join("\n", logs.Lines);
        Assert.Contains("503", all, StringComparison.Ordinal);
        Assert.Contains("of run run-logged was created by an earlier attempt", all, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, all, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer", all, StringComparison.Ordinal);
    }

    /// <summary>Keeps every formatted log line (and its exception) in memory.</summary>
    private sealed class CapturingLoggerProvider : Microsoft.Extensions.Logging.ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose() { }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : Microsoft.Extensions.Logging.ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

            public void Log<TState>(
                Microsoft.Extensions.Logging.LogLevel logLevel,
                Microsoft.Extensions.Logging.EventId eventId,
                TState state,
                Exception? exception,
                Func<TState, Exception?, string> formatter
            ) => owner.Lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}

/// <summary>The emulator's state survives a restart when it keeps a snapshot.</summary>
public sealed class EmulatorSnapshotTests
{
    [Fact]
    public async Task Restart_KeepsFilesAndJobs_AndJobsKeepMoving()
    {
        using var dir = new TempDir();
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
        var options = new EmulatorOptions
        {
            StateDirectory = dir.Path,
            Time = clock,
            Speed = 1,
        };
        string jobId,
            fileId;
        await using (EmulatorServer first = await EmulatorServer.StartAsync(options))
        {
            OpenAIFineTuningProvider provider = OpenAIFineTuningProvider.Create(
                new ProviderOptions { Endpoint = first.OpenAIEndpoint, ApiKey = "k" }
            );
            fileId = (
                await provider.UploadFileAsync("train.jsonl", new MemoryStream(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(12)))))
            ).Id;
            jobId = (
                await provider.CreateJobAsync(new JobRequest("run-snap", "gpt-4.1-mini", fileId, null, FineTuningMethod.Supervised))
            ).Id;
        }

        clock.Advance(TimeSpan.FromHours(1)); // the service kept working while we were away
        await using EmulatorServer second = await EmulatorServer.StartAsync(options);
        OpenAIFineTuningProvider again = OpenAIFineTuningProvider.Create(
            new ProviderOptions { Endpoint = second.OpenAIEndpoint, ApiKey = "k" }
        );

        Assert.Equal(jobId, (await again.FindJobByRunIdAsync("run-snap"))?.Id);
        Assert.Equal(JobStatuses.Succeeded, (await again.GetJobAsync(jobId)).Status);
        Assert.Equal(fileId, (await again.GetFileAsync(fileId)).Id);
        ProviderFile next = await again.UploadFileAsync(
            "more.jsonl",
            new MemoryStream(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(12))))
        );
        Assert.NotEqual(fileId, next.Id); // ids keep counting
    }
}

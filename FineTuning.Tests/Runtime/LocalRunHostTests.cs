using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Tests.Runtime;

/// <summary>The local host over a real data directory: attempts, and one process per data directory.</summary>
public sealed class LocalRunHostTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IConfiguration Slow() =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["FineTuning:Emulator:Speed"] = "5" }).Build();

    [Fact]
    public async Task CancelledRun_StartedAgain_IsANewAttemptWithItsOwnJob()
    {
        await using LocalRunHost host = await LocalRunHost.StartAsync(_dir.File("data"), Slow());
        await host.Blobs.WriteAsync("datasets/support.jsonl", (s, ct) =>
            s.WriteAsync(System.Text.Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(30))), ct).AsTask()
        );
        var request = new RunRequest { DatasetBlob = "datasets/support.jsonl" };
        var monitoring = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource>();
        Task Monitoring(string runId) =>
            monitoring.GetOrAdd(runId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        host.StatusChanged += (runId, progress) =>
        {
            if (progress?.Stage == RunStages.Monitor)
                monitoring
                    .GetOrAdd(runId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
                    .TrySetResult();
        };

        var log = new List<string>();
        host.Runtime.Logged += (id, entry) =>
        {
            lock (log)
                log.Add($"{id} {entry.Level} {entry.Describe()}");
        };

        (string? first, _) = await host.StartRunAsync(request);
        await Monitoring(first!).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(await host.ControlAsync(first!, "cancel"));
        RunOutcome cancelled = await host.Outcome(first!)!.WaitAsync(TimeSpan.FromSeconds(30));
        (string? second, _) = await host.StartRunAsync(request);
        (string? same, _) = await host.StartRunAsync(request);

        Assert.Equal(RunStatus.Cancelled, cancelled.Status);
        // The orchestrator's log: a line per stage, then how the run ended (none from the monitor's polls).
        string[] firstLog = [.. log.Where(l => l.StartsWith(first + " ", StringComparison.Ordinal)).Select(l => l[(first!.Length + 1)..])];
        string[] stages = ["PlanShards", "ValidateShards", "Split", "UploadFiles", "SubmitJob"];
        Assert.Equal([.. stages.Select(stage => $"Information Run {first}: {stage}")], firstLog[..5]);
        Assert.StartsWith($"Information Run {first}: Monitor (job ftjob-", firstLog[5], StringComparison.Ordinal);
        Assert.Equal($"Warning Run {first}: Cancelled at Monitor: Cancelled on request; the provider job was cancelled.", firstLog[6]);
        Assert.Equal(7, firstLog.Length);
        Assert.NotEqual(first, second);
        Assert.Equal(second, same);
        await Monitoring(second!).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(await host.ControlAsync(second!, "cancel"));
        Assert.Equal(409, (await host.ControlAsync(first!, "cancel"))?.Status);
        await host.Outcome(second!)!.WaitAsync(TimeSpan.FromSeconds(30));
        Core.Providers.ProviderJob? firstJob = await host.Provider.FindJobByRunIdAsync(first!);
        Core.Providers.ProviderJob? secondJob = await host.Provider.FindJobByRunIdAsync(second!);
        Assert.NotNull(firstJob);
        Assert.NotNull(secondJob);
        Assert.NotEqual(firstJob.Id, secondJob.Id);
    }

    [Fact]
    public async Task SecondHostOnTheSameDataDirectory_IsRefusedWithWhatToDo()
    {
        await using LocalRunHost host = await LocalRunHost.StartAsync(_dir.File("data"), new ConfigurationBuilder().Build());

        IOException refused = await Assert.ThrowsAsync<IOException>(() =>
            LocalRunHost.StartAsync(_dir.File("data"), new ConfigurationBuilder().Build())
        );

        Assert.Contains("Another finetune process (run or serve) is using the data directory", refused.Message, StringComparison.Ordinal);
    }
}

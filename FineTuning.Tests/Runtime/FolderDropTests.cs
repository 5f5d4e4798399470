using System.Text;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Tests.Runtime;

/// <summary>The local blob trigger over a real data directory, runtime and emulator.</summary>
public sealed class FolderDropTests : IAsyncLifetime, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly StringWriter _log = new();
    private LocalRunHost _host = null!;
    private FolderDrop _drop = null!;

    public async Task InitializeAsync()
    {
        _host = await LocalRunHost.StartAsync(_dir.File("data"), new ConfigurationBuilder().Build());
        // A settle time ten times the test's pause in mid-file, so that a loaded machine does not stretch the pause past it.
        _drop = new FolderDrop(
            _host,
            new ConsoleLines(TextWriter.Synchronized(_log)).CreateLogger("drop"),
            settleTime: TimeSpan.FromMilliseconds(1500),
            scanInterval: TimeSpan.FromMilliseconds(50)
        );
        _drop.Start();
    }

    public async Task DisposeAsync()
    {
        await _drop.DisposeAsync();
        await _host.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private string Dropped(string name) => Path.Combine(_drop.Folder, name);

    private static string Dataset(int rows, string salt = "") =>
        Rows.Jsonl(Rows.ManyChats(rows, i => i % 2 == 0 ? "billing" : "shipping" + salt));

    private async Task<string> NextRun(TimeSpan? within = null)
    {
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _drop.RunStarted += (_, runId) => started.TrySetResult(runId);
        return await started.Task.WaitAsync(within ?? TimeSpan.FromSeconds(20));
    }

    private async Task<RunRow> Finished(string runId)
    {
        RunOutcome outcome = await _host.Outcome(runId)!.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        return (await ((IRunStore)_host.Tables).GetAsync(runId))!;
    }

    [Fact]
    public async Task FileWrittenSlowly_IsReadOnlyWhenComplete_AndTheSameContentAgainStartsNothing()
    {
        Task<string> next = NextRun();
        byte[] content = Encoding.UTF8.GetBytes(Dataset(40));
        await using (var file = new FileStream(Dropped("support.jsonl"), FileMode.Create))
        {
            // Half the file, a pause shorter than the settle time, then the rest.
            await file.WriteAsync(content.AsMemory(0, content.Length / 2));
            await file.FlushAsync();
            await Task.Delay(150);
            await file.WriteAsync(content.AsMemory(content.Length / 2));
        }

        RunRow run = await Finished(await next);
        Assert.Equal(40, run.Rows);

        File.WriteAllBytes(Dropped("copy-of-support.jsonl"), content);
        await WaitForLog("copy-of-support.jsonl: the same content and options as an earlier drop");
        Assert.Single(await ((IRunStore)_host.Tables).ListAsync());
    }

    [Fact]
    public async Task Sidecar_GivesTheOptions_AndABrokenOneIsReportedWithItsLineUntilFixed()
    {
        File.WriteAllText(Dropped("tone.run.json"), "{\n  \"trainRatio\": 0.75,\n  \"suffix\": \"tone\"\n  \"seed\": 7\n}");
        File.WriteAllText(Dropped("tone.jsonl"), Dataset(40, "-tone"));
        await WaitForLog("drop: datasets/tone.jsonl: not started: datasets/tone.run.json: line 4");
        Assert.Empty(await ((IRunStore)_host.Tables).ListAsync());

        Task<string> next = NextRun();
        File.WriteAllText(Dropped("tone.run.json"), "{ \"trainRatio\": 0.75, \"suffix\": \"tone\", \"seed\": 7 }");
        RunRow run = await Finished(await next);

        Assert.Equal(30, run.TrainRows);
        Assert.Contains(":tone:", run.ModelId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidOptions_AreReportedByField_AndNothingStarts()
    {
        File.WriteAllText(Dropped("rft.run.json"), "{ \"method\": \"reinforcement\", \"trainRatio\": -1 }");
        File.WriteAllText(Dropped("rft.jsonl"), Dataset(20));

        await WaitForLog("grader: is required for reinforcement");
        Assert.Contains("trainRatio:", _log.ToString(), StringComparison.Ordinal);
        Assert.Empty(await ((IRunStore)_host.Tables).ListAsync());
    }

    private async Task WaitForLog(string text)
    {
        for (int i = 0; i < 400 && !_log.ToString().Contains(text, StringComparison.Ordinal); i++)
            await Task.Delay(25);
        Assert.Contains(text, _log.ToString(), StringComparison.Ordinal);
    }
}

using System.Text;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using FineTuning.Tests.Datasets;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Tests.Runtime;

/// <summary>
/// A data directory whose databases were emptied, garbled or lost: checked at start, named when damaged, and rebuilt from
/// what the history holds, never shown as an empty registry or a run running for ever.
/// </summary>
public sealed class RepairTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Root => _dir.File("data");

    private static IConfiguration Settings() => new ConfigurationBuilder().Build();

    /// <summary>A run to its registered model; its run row and model row as finetuning.db held them.</summary>
    private async Task<(RunRow Run, ModelRow Model)> RegisteredRunAsync()
    {
        await using LocalRunHost host = await LocalRunHost.StartAsync(Root, Settings());
        await host.Blobs.WriteAsync("datasets/support.jsonl", (s, ct) =>
            s.WriteAsync(Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(30))), ct).AsTask()
        );
        (string? runId, _) = await host.StartRunAsync(
            host.ForThisHost(new RunRequest { DatasetBlob = "datasets/support.jsonl", PollInterval = TimeSpan.FromSeconds(1) })
        );
        RunOutcome outcome = await host.Outcome(runId!)!.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        (RunRow, ModelRow) rows = (
            (await ((IRunStore)host.Tables).GetAsync(runId!))!,
            (await ((IModelRegistry)host.Tables).GetAsync(outcome.ModelId!))!
        );
        await host.DisposeAsync();
        ProcessEnded();
        return rows;
    }

    /// <summary>As when the process ends: no pooled connection keeps the old files (or a deleted WAL) open.</summary>
    private static void ProcessEnded() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

    [Fact]
    public async Task AnEmptiedRegistry_IsRebuiltFromTheHistory_AtTheNextStart()
    {
        (RunRow run, ModelRow model) = await RegisteredRunAsync();
        await File.WriteAllBytesAsync(Path.Combine(Root, "finetuning.db"), []);
        File.Delete(Path.Combine(Root, "finetuning.db-wal"));
        File.Delete(Path.Combine(Root, "finetuning.db-shm"));

        await using LocalRunHost host = await LocalRunHost.StartAsync(Root, Settings());

        Assert.Equal(new RepairReport(1, 1, 0), host.Repaired);
        Assert.Equal(
            FineTuning.Local.LocalJson.Serialize(run),
            FineTuning.Local.LocalJson.Serialize((await ((IRunStore)host.Tables).GetAsync(run.RunId))!)
        );
        ModelRow rebuilt = (await ((IModelRegistry)host.Tables).GetAsync(model.ModelId))!;
        Assert.Equal(model.DatasetContentHash, rebuilt.DatasetContentHash);
        Assert.Equal(model.SplitFileHashes, rebuilt.SplitFileHashes);
        Assert.Equal(model.JobId, rebuilt.JobId);
    }

    [Fact]
    public async Task AGarbledRegistry_StopsTheStart_NamingTheFileAndWhatToDo_ThenMovedAsideItIsRebuilt()
    {
        (RunRow run, _) = await RegisteredRunAsync();
        string db = Path.Combine(Root, "finetuning.db");
        File.Delete(db + "-wal");
        File.Delete(db + "-shm");
        await File.WriteAllBytesAsync(db, [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 37))]);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalRunHost.StartAsync(Root, Settings()));
        var (code, _, err) = CliRunner.Run("runs", "--data", Root);
        var (repairCode, _, repairErr) = CliRunner.Run("repair", "--data", Root);

        Assert.Contains($"{db} is damaged", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Move it aside", refused.Message, StringComparison.Ordinal);
        Assert.False(LocalRunHost.IsOwned(Root));
        Assert.Equal(2, code);
        Assert.Contains("is damaged", err, StringComparison.Ordinal);
        Assert.Equal(2, repairCode);
        Assert.Contains("is damaged", repairErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err + repairErr, StringComparison.Ordinal);

        File.Move(db, db + ".damaged");
        var (fixedCode, said, _) = CliRunner.Run("repair", "--data", Root);
        Assert.Equal(0, fixedCode);
        Assert.Contains("rebuilt 1 run and 1 model", said, StringComparison.Ordinal);
        await using LocalRunHost host = await LocalRunHost.StartAsync(Root, Settings());
        Assert.Equal(RunStatus.Succeeded, (await ((IRunStore)host.Tables).GetAsync(run.RunId))!.Status);
    }

    [Fact]
    public async Task AnUnfinishedRunWhoseHistoryIsGone_IsMarkedFailed_NotLeftRunning()
    {
        await using (LocalRunHost first = await LocalRunHost.StartAsync(Root, Settings()))
        {
            await ((IRunStore)first.Tables).UpsertAsync(
                new RunRow
                {
                    RunId = "run-orphan",
                    DatasetBlob = "datasets/support.jsonl",
                    Status = RunStatus.Running,
                    Stage = RunStages.Monitor,
                    CreatedAt = DateTime.UtcNow,
                    UpdatedAt = DateTime.UtcNow,
                }
            );
        }

        ProcessEnded();
        File.Delete(Path.Combine(Root, "durable.db"));
        File.Delete(Path.Combine(Root, "durable.db-wal"));
        File.Delete(Path.Combine(Root, "durable.db-shm"));
        await using LocalRunHost host = await LocalRunHost.StartAsync(Root, Settings());
        RunRow orphan = (await ((IRunStore)host.Tables).GetAsync("run-orphan"))!;

        Assert.Equal(new RepairReport(0, 0, 1), host.Repaired);
        Assert.Equal(RunStatus.Failed, orphan.Status);
        Assert.NotNull(orphan.FinishedAt);
        Assert.Contains("history (durable.db) is gone", orphan.Error, StringComparison.Ordinal);
        Assert.NotNull(await host.ControlAsync("run-orphan", "cancel"));
    }
}

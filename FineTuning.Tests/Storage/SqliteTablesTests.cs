using FineTuning.Core.Workflow;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Storage;

public class SqliteTablesTests
{
    private static readonly DateTime T0 = new(2026, 11, 22, 8, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Runs_UpsertReplacesTheRow_AndSurviveReopening()
    {
        using var dir = new TempDir();
        IRunStore runs = new SqliteTables(dir.File("data/finetuning.db"));

        await runs.UpsertAsync(new RunRow { RunId = "run-1", DatasetBlob = "datasets/a.jsonl", CreatedAt = T0, UpdatedAt = T0 });
        await runs.UpsertAsync(new RunRow { RunId = "run-1", DatasetBlob = "datasets/a.jsonl", CreatedAt = T0, UpdatedAt = T0.AddMinutes(5), Stage = RunStages.Monitor, Status = RunStatus.Running, JobId = "ftjob-1" });
        await runs.UpsertAsync(new RunRow { RunId = "run-2", DatasetBlob = "datasets/b.jsonl", CreatedAt = T0.AddHours(1), UpdatedAt = T0.AddHours(1) });

        IRunStore reopened = new SqliteTables(dir.File("data/finetuning.db"));
        RunRow? run = await reopened.GetAsync("run-1");
        Assert.Equal(RunStatus.Running, run!.Status);
        Assert.Equal(RunStages.Monitor, run.Stage);
        Assert.Equal("ftjob-1", run.JobId);
        Assert.Equal(["run-2", "run-1"], (await reopened.ListAsync()).Select(r => r.RunId));
        Assert.Null(await reopened.GetAsync("run-9"));
    }

    [Fact]
    public async Task Models_KeepTheirLineage()
    {
        using var dir = new TempDir();
        IModelRegistry models = new SqliteTables(dir.File("finetuning.db"));
        var row = new ModelRow
        {
            ModelId = "ft:gpt-4.1-mini:org:support:abc",
            BaseModel = "gpt-4.1-mini-2025-04-14",
            Method = "supervised",
            RunId = "run-1",
            JobId = "ftjob-1",
            DatasetBlob = "datasets/a.jsonl",
            DatasetETag = "\"0x1\"",
            SplitSeed = 42,
            FileIds = ["file-t", "file-v"],
            TrainRowsByTopic = new Dictionary<string, long> { ["billing"] = 18 },
            Metrics = new Dictionary<string, double> { ["valid_loss"] = 0.4 },
            Outcome = "improved",
            RegisteredAt = T0,
        };

        await models.UpsertAsync(row);
        ModelRow? back = await models.GetAsync(row.ModelId);

        Assert.Equal(["file-t", "file-v"], back!.FileIds);
        Assert.Equal(18, back.TrainRowsByTopic["billing"]);
        Assert.Equal(0.4, back.Metrics["valid_loss"]);
        Assert.Single(await models.ListAsync());
    }

    [Fact]
    public async Task ConcurrentUpserts_AllLand()
    {
        using var dir = new TempDir();
        IRunStore runs = new SqliteTables(dir.File("finetuning.db"));

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => runs.UpsertAsync(new RunRow { RunId = $"run-{i}", DatasetBlob = "datasets/a.jsonl", CreatedAt = T0.AddSeconds(i), UpdatedAt = T0 })));

        Assert.Equal(40, (await runs.ListAsync()).Count);
    }
}

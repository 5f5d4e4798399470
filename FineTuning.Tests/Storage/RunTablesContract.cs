using FineTuning.Core.Workflow;

namespace FineTuning.Tests.Storage;

/// <summary>What the runs table and the model registry must do, run against each store: SQLite and Azure Tables.</summary>
public abstract class RunTablesContract
{
    protected static readonly DateTime T0 = new(2026, 11, 22, 8, 0, 0, DateTimeKind.Utc);

    protected abstract IRunStore Runs { get; }

    protected abstract IModelRegistry Models { get; }

    private static ModelRow Model(string id) =>
        new()
        {
            ModelId = id,
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

    [Fact]
    public async Task Runs_UpsertReplacesTheRow_AndListsNewestFirst()
    {
        await Runs.UpsertAsync(
            new RunRow
            {
                RunId = "run-1",
                DatasetBlob = "datasets/a.jsonl",
                CreatedAt = T0,
                UpdatedAt = T0,
            }
        );
        await Runs.UpsertAsync(
            new RunRow
            {
                RunId = "run-1",
                DatasetBlob = "datasets/a.jsonl",
                CreatedAt = T0,
                UpdatedAt = T0.AddMinutes(5),
                Stage = RunStages.Monitor,
                Status = RunStatus.Running,
                JobId = "ftjob-1",
            }
        );
        await Runs.UpsertAsync(
            new RunRow
            {
                RunId = "run-2",
                DatasetBlob = "datasets/b.jsonl",
                CreatedAt = T0.AddHours(1),
                UpdatedAt = T0.AddHours(1),
            }
        );
        await Runs.UpsertAsync(
            new RunRow
            {
                RunId = "run-0",
                DatasetBlob = "datasets/c.jsonl",
                CreatedAt = T0.AddMinutes(30),
                UpdatedAt = T0.AddMinutes(30),
            }
        );

        RunRow? run = await Runs.GetAsync("run-1");
        Assert.Equal(RunStatus.Running, run!.Status);
        Assert.Equal(RunStages.Monitor, run.Stage);
        Assert.Equal("ftjob-1", run.JobId);
        Assert.Equal(T0.AddMinutes(5), run.UpdatedAt);
        Assert.Equal(["run-2", "run-0", "run-1"], (await Runs.ListAsync()).Select(r => r.RunId));
        Assert.Null(await Runs.GetAsync("run-9"));
    }

    [Fact]
    public async Task Models_KeepTheirLineage_AndListNewestFirst()
    {
        ModelRow row = Model("ft:gpt-4.1-mini:org:support:abc");

        await Models.UpsertAsync(row);
        await Models.UpsertAsync(row with { ModelId = "ft:gpt-4.1-mini:org:support:abd", RegisteredAt = T0.AddDays(1) });
        ModelRow? back = await Models.GetAsync(row.ModelId);

        Assert.Equal(["file-t", "file-v"], back!.FileIds);
        Assert.Equal(18, back.TrainRowsByTopic["billing"]);
        Assert.Equal(0.4, back.Metrics["valid_loss"]);
        Assert.Equal("\"0x1\"", back.DatasetETag);
        Assert.Equal(["ft:gpt-4.1-mini:org:support:abd", row.ModelId], (await Models.ListAsync()).Select(m => m.ModelId));
        Assert.Null(await Models.GetAsync("ft:gpt-4.1-mini:org:support:none"));
    }

    [Fact]
    public async Task Models_WithThousandsOfTopics_RoundTrip()
    {
        ModelRow row = Model("ft:gpt-4.1-mini:org:topics:abc") with
        {
            TrainRowsByTopic = Enumerable.Range(0, 5000).ToDictionary(i => $"a rather long topic name number {i:D5}", i => (long)i),
        };

        await Models.UpsertAsync(row);

        ModelRow? back = await Models.GetAsync(row.ModelId);
        Assert.Equal(5000, back!.TrainRowsByTopic.Count);
        Assert.Equal(4999, back.TrainRowsByTopic["a rather long topic name number 04999"]);
    }

    [Fact]
    public async Task ConcurrentUpserts_AllLand()
    {
        await Task.WhenAll(
            Enumerable
                .Range(0, 40)
                .Select(i =>
                    Runs.UpsertAsync(
                        new RunRow
                        {
                            RunId = $"run-{i}",
                            DatasetBlob = "datasets/a.jsonl",
                            CreatedAt = T0.AddSeconds(i),
                            UpdatedAt = T0,
                        }
                    )
                )
        );

        Assert.Equal(40, (await Runs.ListAsync()).Count);
    }
}

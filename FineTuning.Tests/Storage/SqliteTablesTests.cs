using FineTuning.Core.Workflow;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Storage;

/// <summary>The local host's runs table and model registry in SQLite: the contract, and that rows survive reopening.</summary>
public sealed class SqliteTablesTests : RunTablesContract, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly SqliteTables _tables;

    public SqliteTablesTests() => _tables = new SqliteTables(_dir.File("data/finetuning.db"));

    protected override IRunStore Runs => _tables;

    protected override IModelRegistry Models => _tables;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Rows_SurviveReopening()
    {
        await Runs.UpsertAsync(
            new RunRow
            {
                RunId = "run-1",
                DatasetBlob = "datasets/a.jsonl",
                CreatedAt = T0,
                UpdatedAt = T0,
                JobId = "ftjob-1",
            }
        );

        IRunStore reopened = new SqliteTables(_dir.File("data/finetuning.db"));

        Assert.Equal("ftjob-1", (await reopened.GetAsync("run-1"))!.JobId);
    }
}

using FineTuning.Core.Workflow;
using FineTuning.Functions.Storage;

namespace FineTuning.Tests.Storage;

/// <summary>The Azure host's runs table and model registry on Azurite, through the real Azure.Data.Tables client.</summary>
[Collection(AzuriteTests.Name)]
public sealed class AzureTableStoreTests(AzuriteFixture azurite) : RunTablesContract, IAsyncLifetime
{
    private readonly TableStore _tables = new(azurite.Tables);

    protected override IRunStore Runs => _tables;

    protected override IModelRegistry Models => _tables;

    // The tables have fixed names and the emulator is shared: each test starts with none.
    public async Task InitializeAsync()
    {
        await azurite.Tables.DeleteTableAsync(TableStore.RunsTable);
        await azurite.Tables.DeleteTableAsync(TableStore.ModelsTable);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Counts the requests that create a table (POST to /Tables).</summary>
    private sealed class CreateCounter : Azure.Core.Pipeline.HttpPipelineSynchronousPolicy
    {
        public int Creates;

        public override void OnSendingRequest(Azure.Core.HttpMessage message)
        {
            if (
                message.Request.Method == Azure.Core.RequestMethod.Post
                && message.Request.Uri.Path.EndsWith("/Tables", StringComparison.Ordinal)
            )
                Interlocked.Increment(ref Creates);
        }
    }

    [Fact]
    public async Task TheTablesAreCreatedOnce_NotOnEveryCall()
    {
        var counter = new CreateCounter();
        var options = new Azure.Data.Tables.TableClientOptions();
        options.AddPolicy(counter, Azure.Core.HttpPipelinePosition.PerCall);
        var store = new TableStore(new Azure.Data.Tables.TableServiceClient(azurite.ConnectionString, options));

        for (int i = 0; i < 5; i++)
        {
            await ((IRunStore)store).UpsertAsync(
                new RunRow
                {
                    RunId = $"run-{i}",
                    DatasetBlob = "datasets/a.jsonl",
                    CreatedAt = DateTime.UtcNow,
                }
            );
            Assert.NotNull(await ((IRunStore)store).GetAsync($"run-{i}"));
        }

        Assert.Empty(await ((IModelRegistry)store).ListAsync());
        Assert.Equal(2, counter.Creates);
    }
}

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
}

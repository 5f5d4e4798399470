using System.Text.Json;
using Azure.Data.Tables;
using FineTuning.Core.Datasets;
using FineTuning.Core.Workflow;

namespace FineTuning.Functions.Storage;

/// <summary>The runs table and the model registry on Azure Table Storage: each row's record as JSON, upserted whole.</summary>
public sealed class TableStore(TableServiceClient service) : IRunStore, IModelRegistry
{
    public const string RunsTable = "runs";
    public const string ModelsTable = "models";

    private readonly TableClient _runs = service.GetTableClient(RunsTable);
    private readonly TableClient _models = service.GetTableClient(ModelsTable);

    Task IRunStore.UpsertAsync(RunRow run, CancellationToken cancellationToken) => UpsertAsync(_runs, "run", run.RunId, run, cancellationToken);

    Task<RunRow?> IRunStore.GetAsync(string runId, CancellationToken cancellationToken) => GetAsync<RunRow>(_runs, "run", runId, cancellationToken);

    Task<IReadOnlyList<RunRow>> IRunStore.ListAsync(CancellationToken cancellationToken) => ListAsync<RunRow>(_runs, "run", cancellationToken);

    Task IModelRegistry.UpsertAsync(ModelRow model, CancellationToken cancellationToken) => UpsertAsync(_models, "model", Key(model.ModelId), model, cancellationToken);

    Task<ModelRow?> IModelRegistry.GetAsync(string modelId, CancellationToken cancellationToken) => GetAsync<ModelRow>(_models, "model", Key(modelId), cancellationToken);

    Task<IReadOnlyList<ModelRow>> IModelRegistry.ListAsync(CancellationToken cancellationToken) => ListAsync<ModelRow>(_models, "model", cancellationToken);

    // Row keys may not hold '/', '\\', '#' or '?'; model ids hold ':' and are otherwise fine.
    private static string Key(string id) => Uri.EscapeDataString(id);

    private static async Task UpsertAsync<T>(TableClient table, string partition, string key, T value, CancellationToken cancellationToken)
    {
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(partition, key) { ["Json"] = JsonSerializer.Serialize(value, ReportSerializer.Options) };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T?> GetAsync<T>(TableClient table, string partition, string key, CancellationToken cancellationToken)
        where T : class
    {
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        Azure.NullableResponse<TableEntity> found = await table.GetEntityIfExistsAsync<TableEntity>(partition, key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? JsonSerializer.Deserialize<T>(found.Value!.GetString("Json"), ReportSerializer.Options) : null;
    }

    private static async Task<IReadOnlyList<T>> ListAsync<T>(TableClient table, string partition, CancellationToken cancellationToken)
    {
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        await foreach (TableEntity entity in table.QueryAsync<TableEntity>(filter: TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(JsonSerializer.Deserialize<T>(entity.GetString("Json"), ReportSerializer.Options)!);
        }

        return rows;
    }
}

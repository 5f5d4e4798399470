using System.Text.Json;
using Azure.Data.Tables;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;

namespace FineTuning.Functions.Storage;

/// <summary>The runs table and the model registry on Azure Table Storage: each row's record as JSON, upserted whole.</summary>
public sealed class TableStore(TableServiceClient service) : IRunStore, IModelRegistry
{
    public const string RunsTable = "runs";
    public const string ModelsTable = "models";

    // A string property holds at most 32K UTF-16 characters and an entity at most 1 MiB: the record's JSON is cut into
    // properties Json, Json1, Json2, ... of 32,000 characters (a model trained on thousands of topics needs several).
    private const int ChunkChars = 32_000;
    private const int MaxChunks = 15;

    private readonly TableClient _runs = service.GetTableClient(RunsTable);
    private readonly TableClient _models = service.GetTableClient(ModelsTable);
    private Task? _ready;

    /// <summary>
    /// Creates both tables once per store (the Bicep creates them in Azure; Azurite and new accounts need it), not once
    /// per call: one table request less on every read and write. A failed creation is tried again by the next call.
    /// </summary>
    private Task EnsureTablesAsync(CancellationToken cancellationToken)
    {
        Task? ready = Volatile.Read(ref _ready);
        if (ready is null || ready.IsFaulted || ready.IsCanceled)
        {
            Task created = CreateTablesAsync();
            ready = Interlocked.CompareExchange(ref _ready, created, ready) == ready ? created : Volatile.Read(ref _ready)!;
        }

        return ready.WaitAsync(cancellationToken);
    }

    private async Task CreateTablesAsync()
    {
        await _runs.CreateIfNotExistsAsync().ConfigureAwait(false);
        await _models.CreateIfNotExistsAsync().ConfigureAwait(false);
    }

    Task IRunStore.UpsertAsync(RunRow run, CancellationToken cancellationToken) =>
        UpsertAsync(_runs, "run", run.RunId, run, cancellationToken);

    Task<RunRow?> IRunStore.GetAsync(string runId, CancellationToken cancellationToken) =>
        GetAsync<RunRow>(_runs, "run", runId, cancellationToken);

    async Task<IReadOnlyList<RunRow>> IRunStore.ListAsync(CancellationToken cancellationToken) =>
        [
            .. (await ListAsync<RunRow>(_runs, "run", cancellationToken).ConfigureAwait(false))
                .OrderByDescending(r => r.CreatedAt)
                .ThenBy(r => r.RunId, StringComparer.Ordinal),
        ];

    Task IModelRegistry.UpsertAsync(ModelRow model, CancellationToken cancellationToken) =>
        UpsertAsync(_models, "model", Key(model.ModelId), model, cancellationToken);

    Task<ModelRow?> IModelRegistry.GetAsync(string modelId, CancellationToken cancellationToken) =>
        GetAsync<ModelRow>(_models, "model", Key(modelId), cancellationToken);

    async Task<IReadOnlyList<ModelRow>> IModelRegistry.ListAsync(CancellationToken cancellationToken) =>
        [
            .. (await ListAsync<ModelRow>(_models, "model", cancellationToken).ConfigureAwait(false))
                .OrderByDescending(m => m.RegisteredAt)
                .ThenBy(m => m.ModelId, StringComparer.Ordinal),
        ];

    // Row keys may not hold '/', '\\', '#' or '?'; model ids hold ':' and are otherwise fine.
    private static string Key(string id) => Uri.EscapeDataString(id);

    private async Task UpsertAsync<T>(TableClient table, string partition, string key, T value, CancellationToken cancellationToken)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        await table
            .UpsertEntityAsync(
                ToEntity(partition, key, JsonSerializer.Serialize(value, ReportSerializer.Options)),
                TableUpdateMode.Replace,
                cancellationToken
            )
            .ConfigureAwait(false);
    }

    private static TableEntity ToEntity(string partition, string key, string json)
    {
        int chunks = Math.Max(1, (json.Length + ChunkChars - 1) / ChunkChars);
        if (chunks > MaxChunks)
        {
            throw new InvalidOperationException(
                $"The {partition} row '{key}' is {json.Length:N0} characters of JSON; a table row holds at most "
                    + $"{MaxChunks * ChunkChars:N0}."
            );
        }

        var entity = new TableEntity(partition, key);
        for (int i = 0; i < chunks; i++)
        {
            entity[i == 0 ? "Json" : $"Json{i}"] = json.Substring(i * ChunkChars, Math.Min(ChunkChars, json.Length - (i * ChunkChars)));
        }

        return entity;
    }

    private static string JsonOf(TableEntity entity)
    {
        var json = new System.Text.StringBuilder(entity.GetString("Json"));
        for (int i = 1; entity.GetString($"Json{i}") is { } chunk; i++)
        {
            json.Append(chunk);
        }

        return json.ToString();
    }

    private async Task<T?> GetAsync<T>(TableClient table, string partition, string key, CancellationToken cancellationToken)
        where T : class
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        Azure.NullableResponse<TableEntity> found = await table
            .GetEntityIfExistsAsync<TableEntity>(partition, key, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return found.HasValue ? JsonSerializer.Deserialize<T>(JsonOf(found.Value!), ReportSerializer.Options) : null;
    }

    // Rows come back in key order; the lists are sorted as the port says (newest first).
    private async Task<IReadOnlyList<T>> ListAsync<T>(TableClient table, string partition, CancellationToken cancellationToken)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        await foreach (
            TableEntity entity in table
                .QueryAsync<TableEntity>(
                    filter: TableClient.CreateQueryFilter($"PartitionKey eq {partition}"),
                    cancellationToken: cancellationToken
                )
                .ConfigureAwait(false)
        )
        {
            rows.Add(JsonSerializer.Deserialize<T>(JsonOf(entity), ReportSerializer.Options)!);
        }

        return rows;
    }
}

using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Workflow;
using Microsoft.Data.Sqlite;

namespace FineTuning.Local.Storage;

/// <summary>
/// The runs table and the model registry in one SQLite file under the data directory: each row is its record as JSON
/// beside the columns it is looked up by. Upserts replace a row whole; WAL lets readers in while a run writes.
/// </summary>
public sealed class SqliteTables : IRunStore, IModelRegistry
{
    private readonly SqliteFile _file;

    public SqliteTables(string path) =>
        _file = new SqliteFile(
            path,
            """
            CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, json TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS models (model_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, registered_at TEXT NOT NULL, json TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS drops (content_key TEXT PRIMARY KEY, dataset_blob TEXT NOT NULL, run_id TEXT NOT NULL, dropped_at TEXT NOT NULL);
            """
        );

    Task IRunStore.UpsertAsync(RunRow run, CancellationToken cancellationToken) =>
        UpsertAsync(
            "INSERT INTO runs (run_id, created_at, json) VALUES ($id, $at, $json) ON CONFLICT(run_id) DO UPDATE SET json = excluded.json",
            run.RunId,
            run.CreatedAt,
            LocalJson.Serialize(run),
            null,
            cancellationToken
        );

    async Task<RunRow?> IRunStore.GetAsync(string runId, CancellationToken cancellationToken) =>
        (
            await QueryAsync<RunRow>("SELECT json FROM runs WHERE run_id = $id", runId, cancellationToken).ConfigureAwait(false)
        ).SingleOrDefault();

    Task<IReadOnlyList<RunRow>> IRunStore.ListAsync(CancellationToken cancellationToken) =>
        QueryAsync<RunRow>("SELECT json FROM runs ORDER BY created_at DESC, run_id", null, cancellationToken);

    Task IModelRegistry.UpsertAsync(ModelRow model, CancellationToken cancellationToken) =>
        UpsertAsync(
            "INSERT INTO models (model_id, run_id, registered_at, json) VALUES ($id, $run, $at, $json) ON CONFLICT(model_id) DO UPDATE "
                + "SET json = excluded.json",
            model.ModelId,
            model.RegisteredAt,
            LocalJson.Serialize(model),
            model.RunId,
            cancellationToken
        );

    async Task<ModelRow?> IModelRegistry.GetAsync(string modelId, CancellationToken cancellationToken) =>
        (
            await QueryAsync<ModelRow>("SELECT json FROM models WHERE model_id = $id", modelId, cancellationToken).ConfigureAwait(false)
        ).SingleOrDefault();

    Task<IReadOnlyList<ModelRow>> IModelRegistry.ListAsync(CancellationToken cancellationToken) =>
        QueryAsync<ModelRow>("SELECT json FROM models ORDER BY registered_at DESC, model_id", null, cancellationToken);

    /// <summary>The run a folder drop with this content (dataset and options) started, if one did.</summary>
    public async Task<string?> FindDropAsync(string contentKey, CancellationToken cancellationToken = default)
    {
        await using SqliteConnection connection = _file.Open();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT run_id FROM drops WHERE content_key = $key";
        command.Parameters.AddWithValue("$key", contentKey);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task RecordDropAsync(
        string contentKey,
        string datasetBlob,
        string runId,
        DateTime at,
        CancellationToken cancellationToken = default
    )
    {
        await using SqliteConnection connection = _file.Open();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO drops (content_key, dataset_blob, run_id, dropped_at) VALUES ($key, $blob, $run, $at)";
        command.Parameters.AddWithValue("$key", contentKey);
        command.Parameters.AddWithValue("$blob", datasetBlob);
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$at", at.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task UpsertAsync(string sql, string id, DateTime at, string json, string? runId, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _file.Open();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$at", at.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$json", json);
        if (runId is not null)
            command.Parameters.AddWithValue("$run", runId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, string? id, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = _file.Open();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        if (id is not null)
            command.Parameters.AddWithValue("$id", id);
        var rows = new List<T>();
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(LocalJson.Deserialize<T>(reader.GetString(0))!);
        }

        return rows;
    }
}

using System.Text.Json.Serialization;

namespace FineTuning.Core.Workflow;

/// <summary>Where a run stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))]
public enum RunStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>The stages of a run, in order.</summary>
public static class RunStages
{
    public const string PlanShards = nameof(PlanShards);
    public const string ValidateShards = nameof(ValidateShards);
    public const string Split = nameof(Split);
    public const string UploadFiles = nameof(UploadFiles);
    public const string SubmitJob = nameof(SubmitJob);
    public const string Monitor = nameof(Monitor);
    public const string CollectResults = nameof(CollectResults);
    public const string RegisterModel = nameof(RegisterModel);
}

/// <summary>
/// One run, as a table row: updated at every stage, so it always says where the run is and why. Members with a default
/// are settable so that a row written before a member existed reads with that default (see <see cref="RunRequest"/>).
/// </summary>
public sealed record RunRow
{
    public required string RunId { get; init; }

    public required string DatasetBlob { get; init; }

    public string Stage { get; set; } = RunStages.PlanShards;

    public RunStatus Status { get; set; } = RunStatus.Pending;

    public DateTime CreatedAt { get; init; }

    public DateTime UpdatedAt { get; init; }

    public DateTime? FinishedAt { get; init; }

    public long? Rows { get; init; }

    public long? Examples { get; init; }

    public long? TrainRows { get; init; }

    public long? ValidationRows { get; init; }

    /// <summary>Rows held out as the run's test set (none unless the request asks for a test ratio).</summary>
    public long? TestRows { get; init; }

    public string? JobId { get; init; }

    public string? JobStatus { get; init; }

    public string? ModelId { get; init; }

    public string? Error { get; init; }

    /// <summary>What the job was estimated to cost in USD before it was submitted (null when no total is known).</summary>
    public decimal? EstimatedCostUsd { get; init; }
}

/// <summary>A registered model with its lineage: dataset, split, files, job, metrics and outcome.</summary>
public sealed record ModelRow
{
    public required string ModelId { get; init; }

    public required string BaseModel { get; init; }

    public required string Method { get; init; }

    public required string RunId { get; init; }

    /// <summary>What the job was estimated to cost in USD before it was submitted (null when no total was known).</summary>
    public decimal? EstimatedCostUsd { get; init; }

    public required string JobId { get; init; }

    public string Status { get; set; } = "registered";

    public string? Hyperparameters { get; init; }

    public long? Seed { get; init; }

    public IReadOnlyList<string> FileIds { get; set; } = [];

    public required string DatasetBlob { get; init; }

    public string? DatasetETag { get; init; }

    public string? DatasetContentHash { get; init; }

    public ulong SplitSeed { get; init; }

    public IReadOnlyDictionary<string, long> TrainRowsByTopic { get; set; } = new Dictionary<string, long>();

    /// <summary>The SHA-256 of each split file the job was given (<c>train.jsonl</c>, <c>valid.jsonl</c>): what it trained on.</summary>
    public IReadOnlyDictionary<string, string> SplitFileHashes { get; set; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, double> Metrics { get; set; } = new Dictionary<string, double>();

    public string? Outcome { get; init; }

    public DateTime RegisteredAt { get; init; }
}

/// <summary>The runs table (one row per run).</summary>
public interface IRunStore
{
    Task UpsertAsync(RunRow run, CancellationToken cancellationToken = default);

    Task<RunRow?> GetAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Every run, newest (by creation) first.</summary>
    Task<IReadOnlyList<RunRow>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>The model registry (one row per registered model).</summary>
public interface IModelRegistry
{
    Task UpsertAsync(ModelRow model, CancellationToken cancellationToken = default);

    Task<ModelRow?> GetAsync(string modelId, CancellationToken cancellationToken = default);

    /// <summary>Every registered model, newest first.</summary>
    Task<IReadOnlyList<ModelRow>> ListAsync(CancellationToken cancellationToken = default);
}

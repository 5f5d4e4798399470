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

    /// <summary>The model passed its evaluation and waits for <c>approve</c> or <c>reject</c>.</summary>
    AwaitingApproval,

    /// <summary>The model failed the promotion policy, or a person rejected it: registered as <c>rejected</c>, never deployed.</summary>
    Rejected,

    /// <summary>No approval came before the timeout: the model stays a candidate.</summary>
    NotApproved,
}

/// <summary>Whether a run's status is one it ends in.</summary>
public static class RunStatuses
{
    public static bool IsFinal(RunStatus status) =>
        status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled or RunStatus.Rejected or RunStatus.NotApproved;
}

/// <summary>The stages of a run, in order.</summary>
public static class RunStages
{
    public const string PlanShards = nameof(PlanShards);
    public const string ValidateShards = nameof(ValidateShards);
    public const string CheckGrader = nameof(CheckGrader);
    public const string Split = nameof(Split);
    public const string UploadFiles = nameof(UploadFiles);
    public const string SubmitJob = nameof(SubmitJob);
    public const string Monitor = nameof(Monitor);
    public const string CollectResults = nameof(CollectResults);
    public const string Evaluate = nameof(Evaluate);
    public const string RegisterModel = nameof(RegisterModel);
    public const string AwaitApproval = nameof(AwaitApproval);
    public const string Deploy = nameof(Deploy);
}

/// <summary>A registered model's stages: <c>candidate</c> → <c>production</c> → <c>archived</c>, or <c>rejected</c>.</summary>
public static class ModelStages
{
    public const string Candidate = "candidate";
    public const string Production = "production";
    public const string Archived = "archived";
    public const string Rejected = "rejected";

    public static IReadOnlyList<string> All { get; } = [Candidate, Production, Archived, Rejected];
}

/// <summary>One change of a model's stage: to what, when, by whom (a person, or <c>workflow</c>) and why.</summary>
public sealed record StageChange(string Stage, DateTime At, string By, string? Why);

/// <summary>Who decided, and why: the payload of a run's <c>approve</c> and <c>reject</c> events and of the registry's actions.</summary>
public sealed record Decision(string? By = null, string? Why = null);

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

    /// <summary>The held-out evaluation's result (null until the run evaluates, or when it does not).</summary>
    public Evaluation.EvaluationDigest? Evaluation { get; init; }

    /// <summary>The method the run trains with, once validation has resolved it.</summary>
    public string? Method { get; init; }

    /// <summary>The model the job fine-tunes, as the user named it, once validation has resolved it.</summary>
    public string? Model { get; init; }

    /// <summary>The stages the run entered, in order, each with when: its timeline (a stage lasts until the next begins).</summary>
    public IReadOnlyList<StageEntry> Stages { get; set; } = [];
}

/// <summary>A stage a run entered, and when.</summary>
public sealed record StageEntry(string Stage, DateTime At);

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

    /// <summary>The name the model is versioned under (the request's name, else its suffix, else the base model).</summary>
    public string Name { get; set; } = "";

    /// <summary>Its version under <see cref="Name"/>: 1 for the first model registered under it.</summary>
    public int Version { get; set; }

    /// <summary>One of <see cref="ModelStages"/>.</summary>
    public string Stage { get; set; } = ModelStages.Candidate;

    /// <summary>Every change of stage, oldest first.</summary>
    public IReadOnlyList<StageChange> StageHistory { get; set; } = [];

    /// <summary>The held-out evaluation against the base model (null when the run did not evaluate).</summary>
    public Evaluation.EvaluationDigest? Evaluation { get; set; }

    /// <summary>Where the model answers once deployed (the Azure OpenAI deployment's name; null on OpenAI and before).</summary>
    public string? Deployment { get; set; }

    public double TrainRatio { get; set; }

    public double TestRatio { get; set; }

    public string? StratifyBy { get; set; }

    /// <summary>The grader the job was given (reinforcement), as JSON.</summary>
    public string? Grader { get; set; }

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

    /// <summary>The training curve's warnings (overfitting, learning stalled, a large train-validation gap), in words.</summary>
    public IReadOnlyList<string> TrainingWarnings { get; set; } = [];

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

using System.Text.Json;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Providers;

/// <summary>A file the provider holds; <see cref="Status"/> is <c>uploaded</c>, <c>processed</c> or <c>error</c>.</summary>
public sealed record ProviderFile(string Id, string FileName, long Bytes, string Status, string? StatusDetails);

/// <summary>An error the provider reported for a job, with its own code, message and parameter.</summary>
public sealed record ProviderError(string? Code, string? Message, string? Param);

/// <summary>
/// A fine-tuning job as the provider reports it. <see cref="Status"/> is carried through as the provider spells it
/// (validating_files, queued, running, succeeded, failed, cancelled, and anything new such as paused), never mapped.
/// </summary>
public sealed record ProviderJob(
    string Id,
    string Status,
    string Model,
    string? FineTunedModel,
    long? TrainedTokens,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? EstimatedFinish,
    ProviderError? Error,
    IReadOnlyDictionary<string, string> Metadata
)
{
    /// <summary>True only for the statuses that end a job; unknown statuses are not finished.</summary>
    public bool IsFinished => JobStatuses.IsFinal(Status);

    /// <summary>
    /// The hyperparameters the job uses, as the provider reports them (the method's, else the top-level ones); a value
    /// the provider still shows as <c>auto</c> is null. Known once the job starts.
    /// </summary>
    public Hyperparameters? Used { get; init; }
}

/// <summary>The job statuses the product acts on; others pass through untouched.</summary>
public static class JobStatuses
{
    public const string ValidatingFiles = "validating_files";
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Paused = "paused";

    /// <summary>True for the statuses that end a job (succeeded, failed, cancelled); unknown ones are not final.</summary>
    public static bool IsFinal(string? status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>One entry of a job's event log.</summary>
public sealed record ProviderEvent(string Id, DateTimeOffset CreatedAt, string Level, string Message, string? Type, JsonElement? Data);

/// <summary>A saved checkpoint of a job with its metrics (train_loss, valid_loss, valid_mean_token_accuracy, ...).</summary>
public sealed record ProviderCheckpoint(
    string Id,
    int Step,
    string Model,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, double> Metrics
);

/// <summary>What to train: the method's hyperparameters are optional (null means the provider's <c>auto</c>).</summary>
public sealed record JobRequest(
    string RunId,
    string Model,
    string TrainingFileId,
    string? ValidationFileId,
    FineTuningMethod Method,
    string? Suffix = null,
    long? Seed = null,
    Hyperparameters? Hyperparameters = null,
    JsonElement? Grader = null
);

/// <summary>Method hyperparameters; null values are sent as <c>auto</c> or left out.</summary>
public sealed record Hyperparameters(
    int? Epochs = null,
    int? BatchSize = null,
    double? LearningRateMultiplier = null,
    double? Beta = null,
    double? ComputeMultiplier = null,
    int? EvalInterval = null,
    int? EvalSamples = null,
    string? ReasoningEffort = null
);

/// <summary>A model's answer to a chat, with the tokens it used.</summary>
public sealed record ChatAnswer(string Text, int PromptTokens, int CompletionTokens);

using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;

namespace FineTuning.Core.Workflow;

/// <summary>
/// A shard: a run of whole lines of the dataset blob (<see cref="Offset"/>, <see cref="Length"/>, read in place, never
/// copied), the number of its first line, and the dataset's ETag so that a replaced dataset is noticed.
/// </summary>
public sealed record ShardRef(int Index, string BlobName, long FirstLine, bool IsFileStart, long Offset, long Length, string ETag);

/// <summary>The shards of a dataset, with the dataset's size, ETag and SHA-256 for lineage.</summary>
public sealed record ShardPlan(IReadOnlyList<ShardRef> Shards, long Bytes, string ETag, string ContentHash);

/// <summary>The serialisable part of <see cref="ValidationOptions"/> that a run carries to its activities.</summary>
public sealed record ValidationSettings(
    string Method,
    string? Model,
    int MinExamples,
    double MaxErrorRate,
    string TopicField,
    JsonElement? Grader
)
{
    /// <summary>The share of the examples the run's split trains on (its estimate bills those).</summary>
    public double TrainRatio { get; init; } = ValidationOptions.DefaultTrainRatio;

    /// <summary>The epochs the run asks for; null for the provider's default rule.</summary>
    public int? Epochs { get; init; }

    /// <summary>Whether rows are searched for possible personal or secret data.</summary>
    public bool PiiCheck { get; init; } = true;

    /// <summary>Whether rows whose words are mostly an earlier row's are reported too (fuzzy near-duplicates).</summary>
    public bool NearDuplicates { get; init; }

    /// <summary>The share of the examples held out for the evaluation (0: the run does not evaluate).</summary>
    public double EvaluationRatio { get; init; }

    /// <summary>The most rows the evaluation takes.</summary>
    public int MaxEvalRows { get; init; } = 200;

    /// <summary>The judge the request names (null: the host's).</summary>
    public string? JudgeModel { get; init; }

    /// <summary>Whether the request gives an evaluation grader (its answers are then graded, not judged).</summary>
    public bool EvalGrader { get; init; }

    public static ValidationSettings From(RunRequest request) =>
        new(request.Method, request.BaseModel, request.MinExamples, request.MaxErrorRate, request.StratifyBy, request.Grader)
        {
            TrainRatio = request.TrainRatio,
            Epochs = request.Hyperparameters?.Epochs,
            PiiCheck = request.PiiCheck,
            NearDuplicates = request.NearDuplicates,
            EvaluationRatio = request.Evaluate ? request.HeldOutRatio : 0,
            MaxEvalRows = request.MaxEvalRows,
            JudgeModel = request.JudgeModel,
            EvalGrader = request.EvalGrader is not null,
        };

    public ValidationOptions ToOptions(ModelCatalog catalog) =>
        new()
        {
            Method = FineTuningMethods.TryParse(Method, out FineTuningMethod m) ? m : FineTuningMethod.Auto,
            Model = Model,
            MinExamples = MinExamples,
            MaxErrorRate = MaxErrorRate,
            TopicField = TopicField,
            TrainRatio = TrainRatio,
            CheckSensitiveData = PiiCheck,
            FuzzyNearDuplicates = NearDuplicates,
            Catalog = catalog,
            Grader = Grader is { } g
                ? GraderSpec.Parse("grader", JsonSerializer.SerializeToUtf8Bytes(g, CoreJsonContext.Default.JsonElement))
                : null,
        };
}

public sealed record ValidateShardInput(string RunId, ShardRef Shard, ValidationSettings Settings);

/// <summary>Where a shard's report went, and its row counts (the report itself stays in the blob).</summary>
public sealed record ShardValidated(string ReportBlob, long Rows, long ErrorRows);

public sealed record MergeValidationInput(string RunId, string DatasetBlob, ValidationSettings Settings, IReadOnlyList<string> ReportBlobs);

/// <summary>The verdict on a dataset, small enough for the orchestration: the full report is in <see cref="ReportBlob"/>.</summary>
public sealed record ValidationSummary(
    bool Fit,
    string Method,
    string Model,
    long Rows,
    long Examples,
    long ErrorRows,
    string Verdict,
    IReadOnlyList<Finding> FirstErrors,
    string ReportBlob
)
{
    /// <summary>What the job would train and cost: the training share, its tokens, the epochs, the price.</summary>
    public Estimation.CostEstimate? Estimate { get; init; }

    /// <summary>What the evaluation would cost (null when the run does not evaluate).</summary>
    public Evaluation.EvaluationEstimate? EvaluationEstimate { get; init; }
}

/// <summary>
/// What to split; the dataset is read pinned to the ETag and size validation saw (null: an input recorded before they
/// were).
/// </summary>
public sealed record SplitInput(
    string RunId,
    string DatasetBlob,
    ValidationSettings Settings,
    double TrainRatio,
    string StratifyBy,
    ulong Seed,
    bool IncludeGeneratedInValidation,
    string? DatasetETag = null,
    long DatasetBytes = 0,
    string? ValidationFileBlob = null,
    double TestRatio = 0,
    string? TestFileBlob = null
);

/// <summary>The split's files and counts, with the SHA-256 of each file by name (what is uploaded and trained on).</summary>
public sealed record SplitSummary(
    string TrainBlob,
    string ValidationBlob,
    long TrainRows,
    long ValidationRows,
    IReadOnlyDictionary<string, long> TrainRowsByTopic,
    string ReportBlob,
    IReadOnlyDictionary<string, string>? FileHashes = null,
    string? Problem = null,
    string? TestBlob = null,
    long TestRows = 0
);

/// <summary>A job as the orchestration follows it.</summary>
public sealed record JobSnapshot(
    string JobId,
    string Status,
    bool IsFinished,
    string? FineTunedModel,
    long? TrainedTokens,
    DateTimeOffset? EstimatedFinish,
    string? Error
)
{
    /// <summary>Where training is, from the job's latest metrics event (null before the first step).</summary>
    public TrainingProgress? Progress { get; init; }

    /// <summary>The hyperparameters the provider says the job uses (null while it still shows them as auto).</summary>
    public Hyperparameters? Hyperparameters { get; init; }

    /// <summary>
    /// Set when the provider did not answer but asked to be called again after this long (a long Retry-After): the
    /// snapshot then says nothing of the job, and the monitor waits on a durable timer.
    /// </summary>
    public TimeSpan? ProviderBusyFor { get; init; }

    /// <summary>What the provider said when it asked to wait.</summary>
    public string? ProviderBusyReason { get; init; }
}

/// <summary>
/// A training step and its headline metric (train_loss, or train_reward_mean for reinforcement), as the job's events
/// report them.
/// </summary>
public sealed record TrainingProgress(int Step, int? TotalSteps, string? Metric, double? Value);

public sealed record CollectResultsInput(string RunId, string JobId, string Method);

/// <summary>The results report a run writes: the verdict, the checkpoints, the metrics per step and the job's events.</summary>
public sealed record ResultsReport(
    string RunId,
    string JobId,
    ResultsSummary Training,
    IReadOnlyList<ProviderCheckpoint> Checkpoints,
    IReadOnlyList<ResultRow> Results,
    IReadOnlyList<ProviderEvent> Events
);

/// <summary>
/// The training curve's judgment (<c>training</c> in results.json): baseline and final of the run's headline metric, what
/// they mean, and the warnings of the curve (overfitting, learning stalled, a large train-validation gap).
/// </summary>
public sealed record ResultsSummary(
    string Metric,
    double? Baseline,
    double? Final,
    double? Improvement,
    string Outcome,
    bool OverfittingWarning,
    string ReportBlob
)
{
    /// <summary>The train metric barely moved from first to last step (under 2%): the model may have learned nothing.</summary>
    public bool Stalled { get; init; }

    /// <summary>At the end, validation is far worse than training: the model fits its examples, not the task.</summary>
    public bool LargeGap { get; init; }

    /// <summary>Each warning in words, with what to do.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>How a run ended.</summary>
public sealed record RunOutcome(RunStatus Status, string? ModelId, string? Error);

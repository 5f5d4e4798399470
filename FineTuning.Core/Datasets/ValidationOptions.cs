using System.Text.Json.Serialization;
using FineTuning.Core.Catalog;
using FineTuning.Core.Graders;
using FineTuning.Core.Tokens;

namespace FineTuning.Core.Datasets;

/// <summary>How to validate a dataset. Serialisable except for the collaborators marked <see cref="JsonIgnoreAttribute"/>.</summary>
public sealed record ValidationOptions
{
    public const int DefaultMaxLineBytes = 32 * 1024 * 1024;

    /// <summary>The method the rows are written for; <see cref="FineTuningMethod.Auto"/> detects it per row.</summary>
    public FineTuningMethod Method { get; init; } = FineTuningMethod.Auto;

    /// <summary>Base model whose limits apply; null for the catalogue's default.</summary>
    public string? Model { get; init; }

    /// <summary>Fewest valid, distinct examples for a dataset to be fit (the provider's minimum is 10).</summary>
    public int MinExamples { get; init; } = 10;

    /// <summary>The default share of a run's split that trains (the rest validates).</summary>
    public const double DefaultTrainRatio = 0.9;

    /// <summary>
    /// The share of the examples a run will train on (<see cref="DefaultTrainRatio"/> unless the run says): the provider's
    /// minimum applies to the training file, so <c>few_training_examples</c> warns when this share falls under it.
    /// </summary>
    public double TrainRatio { get; init; } = DefaultTrainRatio;

    /// <summary>
    /// The examples a run's split trains on: all but each stratum's validation share, about
    /// <c>round(n × (1 − ratio))</c>.
    /// </summary>
    public static long TrainedExamples(long examples, double trainRatio) =>
        trainRatio >= 1 ? examples : examples - (long)Math.Round(examples * (1 - trainRatio));

    /// <summary>Largest share of rows with errors (0..1) for the dataset to be fit; 0 means any error makes it unfit.</summary>
    public double MaxErrorRate { get; init; }

    /// <summary>How many findings of each code are kept with their lines (counts are always complete).</summary>
    public int MaxFindingsPerCode { get; init; } = 20;

    /// <summary>Field whose value names a row's topic (a dotted path such as <c>metadata.topic</c> works too).</summary>
    public string TopicField { get; init; } = "topic";

    /// <summary>Longest line read; longer lines get <c>line_too_long</c> without being held in memory.</summary>
    public int MaxLineBytes { get; init; } = DefaultMaxLineBytes;

    /// <summary>
    /// Valid rows whose content hashes (for finding duplicates) are held in memory before they spill to temporary files;
    /// bounds validation's memory on files of any size.
    /// </summary>
    public int MaxRowsInMemory { get; init; } = RowHashTable.DefaultMaxRowsInMemory;

    /// <summary>Whether the run is a validation file for reinforcement (1,000 rows at most) rather than a training file.</summary>
    public bool IsValidationFile { get; init; }

    /// <summary>
    /// Whether rows are searched for possible personal or secret data (<c>possible_pii</c>; <c>--no-pii-check</c> turns it
    /// off).
    /// </summary>
    public bool CheckSensitiveData { get; init; } = true;

    /// <summary>
    /// Also report rows that differ from an earlier one by a few words (<see cref="MinHashSketches"/>); slower, and about
    /// 600 bytes a row of memory, so off unless asked for (<c>--near-duplicates</c>).
    /// </summary>
    public bool FuzzyNearDuplicates { get; init; }

    /// <summary>The date retirement is judged against.</summary>
    public DateOnly Today { get; init; } = DateOnly.FromDateTime(DateTime.UtcNow);

    [JsonIgnore]
    public ModelCatalog Catalog { get; init; } = ModelCatalog.Default;

    [JsonIgnore]
    public GraderSpec? Grader { get; init; }

    [JsonIgnore]
    public ITokenEstimator Tokens { get; init; } = ApproximateTokenEstimator.Instance;

    /// <summary>The provider's largest single-request upload.</summary>
    public const long SingleUploadLimitBytes = 512L * 1024 * 1024;

    /// <summary>The Uploads API's largest file.</summary>
    public const long MaxUploadBytes = 8L * 1024 * 1024 * 1024;

    /// <summary>Reinforcement jobs take at most this many training rows...</summary>
    public const int MaxReinforcementTrainingRows = 50_000;

    /// <summary>...and this many validation rows.</summary>
    public const int MaxReinforcementValidationRows = 1_000;

    /// <summary>An assistant message longer than this (estimated tokens) gets <c>long_assistant_message</c>.</summary>
    public const int LongAssistantMessageTokens = 4_096;
}

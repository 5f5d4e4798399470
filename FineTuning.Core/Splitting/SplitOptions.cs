namespace FineTuning.Core.Splitting;

/// <summary>How to split a dataset into training and validation files.</summary>
public sealed record SplitOptions
{
    /// <summary>Share of each stratum that goes to training (0 &lt; ratio ≤ 1).</summary>
    public double TrainRatio { get; init; } = Datasets.ValidationOptions.DefaultTrainRatio;

    /// <summary>
    /// Share of each stratum held out as a test set for evaluation (0 ≤ ratio &lt; 1; 0, the default, writes none): taken
    /// first, by the same content-keyed rule; <see cref="TrainRatio"/> then splits the rest between training and validation.
    /// </summary>
    public double TestRatio { get; init; }

    /// <summary>
    /// A validation file of the user's (a path): validated on its own and used as given, so the dataset is not split
    /// for validation (all of it trains, but for a test share); an example in both files stops the split.
    /// </summary>
    public string? ValidationFile { get; init; }

    /// <summary>
    /// A test file of the user's (a path): validated on its own and written as given to <c>test.jsonl</c> (the dataset
    /// then holds none out); an example it shares with the dataset stops the split, both lines named.
    /// </summary>
    public string? TestFile { get; init; }

    /// <summary>Field to stratify by; a dotted path like <c>metadata.topic</c> works too. Empty: no strata.</summary>
    public string StratifyBy { get; init; } = "topic";

    /// <summary>Seed of the assignment: the same seed and content give the same split, whatever the order of rows.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Let rows marked <c>metadata.generated == true</c> into the validation file.</summary>
    public bool IncludeGeneratedInValidation { get; init; }

    /// <summary>Describes what is wrong with these options, or null when they are usable.</summary>
    public string? Problem() =>
        double.IsNaN(TrainRatio) || TrainRatio <= 0 || TrainRatio > 1 ? $"the train ratio must be above 0 and at most 1 (got {TrainRatio})"
        : double.IsNaN(TestRatio) || TestRatio < 0 || TestRatio >= 1 ? $"the test ratio must be at least 0 and below 1 (got {TestRatio})"
        : TestFile is not null && TestRatio > 0 ? "give a test file or a test ratio, not both"
        : null;
}

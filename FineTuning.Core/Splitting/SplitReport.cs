namespace FineTuning.Core.Splitting;

/// <summary>How one stratum was split; <see cref="Rule"/> says which rule applied.</summary>
public sealed record StratumSplit(string Name, long Rows, long Train, long Validation, long Generated, string Rule, long Test = 0);

/// <summary>
/// Examples found in more than one of the split's files, compared by what the provider trains on (the canonical content of
/// <see cref="Datasets.TrainedMembers"/>): a split repeats no example, so this is 0 by construction, and it is counted
/// from the files' rows to show it.
/// </summary>
public sealed record LeakCheck(string ComparedBy, long TrainValidationOverlap, long TrainTestOverlap = 0, long ValidationTestOverlap = 0);

/// <summary>What a split wrote, and why each row went where it did.</summary>
public sealed record SplitReport
{
    public required string Source { get; init; }

    public required string Method { get; init; }

    public required ulong Seed { get; init; }

    public required double TrainRatio { get; init; }

    public required string StratifyBy { get; init; }

    public required long TrainRows { get; init; }

    public required long ValidationRows { get; init; }

    /// <summary>The share held out for evaluation (0: no test file).</summary>
    public double TestRatio { get; init; }

    public long TestRows { get; init; }

    public long TestBytes { get; init; }

    /// <summary>The held-out rows as written in the source (topic and all: they are never uploaded), or null when none.</summary>
    public string? TestFile { get; init; }

    public required long TrainBytes { get; init; }

    public required long ValidationBytes { get; init; }

    /// <summary>Rows left out: with errors, repeats of earlier rows, or marked <c>metadata.valid == false</c>.</summary>
    public required long ExcludedInvalid { get; init; }

    public required long ExcludedDuplicates { get; init; }

    public required long ExcludedByMetadata { get; init; }

    /// <summary>Top-level keys dropped from rows because the provider does not accept them for this method.</summary>
    public required IReadOnlyList<string> DroppedKeys { get; init; }

    /// <summary>Set when reinforcement's 1,000-row validation limit moved rows to training.</summary>
    public required long MovedToTrainByValidationLimit { get; init; }

    public required IReadOnlyList<StratumSplit> Strata { get; init; }

    public required LeakCheck Leaks { get; init; }

    public required string TrainFile { get; init; }

    public required string ValidationFile { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }
}

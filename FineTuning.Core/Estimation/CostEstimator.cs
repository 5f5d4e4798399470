using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Estimation;

/// <summary>What a job on a dataset would train and cost.</summary>
public sealed record CostEstimate
{
    public required string File { get; init; }

    public required string Model { get; init; }

    public required string Method { get; init; }

    public required long Examples { get; init; }

    /// <summary>The examples the job trains on and is billed for: the training share of a run's split.</summary>
    public long TrainedExamples { get; init; }

    /// <summary>The share of the examples that trains (a run's split ratio).</summary>
    public double TrainRatio { get; init; } = ValidationOptions.DefaultTrainRatio;

    public required int Epochs { get; init; }

    /// <summary>How the epochs were chosen: <c>given</c>, or the provider's default rule.</summary>
    public required string EpochsSource { get; init; }

    public required long BillableTokensPerEpoch { get; init; }

    public required long BilledTokens { get; init; }

    public decimal? PricePerMillionTokens { get; init; }

    public decimal? PricePerHour { get; init; }

    /// <summary>Estimated cost in USD; null when the job is priced per training hour or the price is unknown.</summary>
    public decimal? EstimatedCostUsd { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>How long the job may take, or why no figure is given.</summary>
    public string Duration { get; init; } = DurationUnknown;

    /// <summary>
    /// The providers publish no training throughput: one documented example (Azure's cost guide, read 2026-12-05: 1 M
    /// training tokens, 2 epochs, gpt-4.1 Global, 2 h 15 min) is no basis for a range, and queue time varies widely.
    /// </summary>
    public const string DurationUnknown =
        "not estimated: the providers publish no training throughput (Azure's cost guide gives one example, 2 M trained tokens "
        + "on gpt-4.1 in 2 h 15 min) and queue time varies from minutes to hours; a run shows the provider's estimated finish "
        + "once the job trains";
}

/// <summary>
/// The OpenAI cookbook's estimate: the default number of epochs targets 3 passes, raised so small datasets see at least
/// 100 examples and lowered so large ones see at most 25,000 (always 1..25 epochs); billed tokens are each example's
/// tokens, capped at the model's limit, times the epochs.
/// </summary>
public static class CostEstimator
{
    public const int TargetEpochs = 3;
    public const int MinTargetExamples = 100;
    public const int MaxTargetExamples = 25_000;
    public const int MinDefaultEpochs = 1;
    public const int MaxDefaultEpochs = 25;

    public static int DefaultEpochs(long examples)
    {
        if (examples <= 0)
        {
            return TargetEpochs;
        }

        if (examples * TargetEpochs < MinTargetExamples)
        {
            return (int)Math.Min(MaxDefaultEpochs, MinTargetExamples / examples);
        }

        if (examples * TargetEpochs > MaxTargetExamples)
        {
            return (int)Math.Max(MinDefaultEpochs, MaxTargetExamples / examples);
        }

        return TargetEpochs;
    }

    /// <summary>
    /// The job a run would submit: the training share of the distinct examples (<paramref name="trainRatio"/>, the run's
    /// split; validation rows are not billed), their tokens (the file's billable tokens in proportion), times the epochs
    /// (the default rule over the trained examples, when not given), at the catalogue's price.
    /// </summary>
    public static CostEstimate Estimate(
        DatasetReport report,
        ModelCatalog catalog,
        string? model,
        int? epochs,
        double trainRatio = ValidationOptions.DefaultTrainRatio
    )
    {
        FineTuningMethod method = FineTuningMethods.TryParse(report.Method, out FineTuningMethod m) ? m : FineTuningMethod.Supervised;
        ModelFacts? facts = catalog.Find(model, method);
        long trained = ValidationOptions.TrainedExamples(report.Examples, trainRatio);
        int n = epochs ?? DefaultEpochs(trained);
        long perEpoch =
            report.Examples == 0 ? 0 : (long)Math.Round((double)report.Tokens.BillableTokensPerEpoch * trained / report.Examples);
        long billed = perEpoch * n;
        var notes = new List<string>
        {
            $"{report.Tokens.Note.TrimEnd('.')} ({report.Tokens.TokenEstimator}); the provider bills its own count of the chat format.",
        };
        decimal? cost = null;
        if (facts is null)
        {
            notes.Add($"{catalog.NotCatalogued(model ?? "")}, so no price is known.");
        }
        else if (
            method == FineTuningMethod.Reinforcement
            || facts.TrainingPricePerHour is not null && facts.TrainingPricePerMillionTokens is null
        )
        {
            notes.Add(
                $"Reinforcement jobs are billed per training hour (${facts.TrainingPricePerHour}/hour for {facts.Name}); the time depends "
                    + "on the grader, reasoning effort and compute multiplier, so no total is given. The inputs are shown."
            );
        }
        else if (facts.TrainingPricePerMillionTokens is decimal price)
        {
            cost = Math.Round(billed / 1_000_000m * price, 2);
            if (catalog.AzureTrainingTypes.Count > 0)
            {
                notes.Add(
                    $"Price: OpenAI's list price. Azure OpenAI bills by training type at the rates of its pricing page: "
                        + string.Join(", ", catalog.AzureTrainingTypes.Select(t => $"{t.Name} ({t.Says})"))
                        + ". Azure documents these relations, not the rates."
                );
            }
        }

        if (trained < report.Examples)
        {
            notes.Add(
                $"Billed: the {trained:N0} examples a run trains on ({trainRatio:0.##} of {report.Examples:N0}); the validation file "
                    + "is not billed. Their tokens are the file's in proportion."
            );
        }

        if (epochs is null)
        {
            notes.Add($"Epochs: the provider's default rule for {trained:N0} training examples gives {n}.");
        }

        if (report.Duplicates > 0 || report.ErrorRows > 0)
        {
            notes.Add($"Only the {report.Examples:N0} valid, distinct examples are counted.");
        }

        return new CostEstimate
        {
            File = report.File,
            Model = facts?.Name ?? model ?? "",
            Method = report.Method,
            Examples = report.Examples,
            TrainedExamples = trained,
            TrainRatio = trainRatio,
            Epochs = n,
            EpochsSource = epochs is null ? "default rule" : "given",
            BillableTokensPerEpoch = perEpoch,
            BilledTokens = billed,
            PricePerMillionTokens = facts?.TrainingPricePerMillionTokens,
            PricePerHour = facts?.TrainingPricePerHour,
            EstimatedCostUsd = cost,
            Notes = notes,
        };
    }
}

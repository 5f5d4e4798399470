namespace FineTuning.Core.Evaluation;

/// <summary>Which answer a pairwise judge preferred, asked in both orders so that position bias cancels.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<Preference>))]
public enum Preference
{
    /// <summary>The fine-tuned model's answer, in both orders.</summary>
    FineTuned,

    /// <summary>The base model's answer, in both orders.</summary>
    Base,

    /// <summary>Neither: the judge called it even, or the two orders disagreed.</summary>
    Tie,
}

/// <summary>
/// One held-out row, evaluated: both models' answers and their scores (0 to 1, from the run's grader or the rubric),
/// and the pairwise judge's verdict when one was asked. <see cref="RowId"/> is the row's content identity, so a report
/// does not depend on the order rows were evaluated in.
/// </summary>
public sealed record EvaluatedRow(
    string RowId,
    long Line,
    string Topic,
    string Prompt,
    string? Reference,
    string BaseAnswer,
    double BaseScore,
    string FineTunedAnswer,
    double FineTunedScore,
    Preference? Judged = null
)
{
    public double Gain => FineTunedScore - BaseScore;

    /// <summary>The tokens the row's six calls used (null in rows kept before they were counted).</summary>
    public EvaluationUsage? Usage { get; init; }
}

/// <summary>Base and fine-tuned scores over a set of rows (the whole set, or one topic).</summary>
public sealed record ScoreComparison(
    string Name,
    int Rows,
    double BaseScore,
    double FineTunedScore,
    double Difference,
    double? ImprovementPercent
);

/// <summary>A 95% interval.</summary>
public sealed record Interval(double Low, double High);

/// <summary>The pairwise judge's verdicts: wins, losses and ties of the fine-tuned model, and its win rate with ties apart.</summary>
public sealed record WinRate(int Wins, int Losses, int Ties, double? Rate);

/// <summary>What the evaluation says about the fine-tuned model, as the outcome a person acts on.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<EvaluationOutcome>))]
public enum EvaluationOutcome
{
    /// <summary>Better by at least the policy's improvement, and its interval is above 0: deploy.</summary>
    ImprovedSignificantly,

    /// <summary>Better on average, but by less, or not clearly more than noise: test more.</summary>
    Marginal,

    /// <summary>Not better: revise the data or the method.</summary>
    NoImprovement,

    /// <summary>Worse, and the interval is below 0: don't deploy.</summary>
    Regression,
}

/// <summary>What an <see cref="EvaluationOutcome"/> tells a person to do.</summary>
public static class EvaluationOutcomes
{
    public static string Advice(EvaluationOutcome outcome) =>
        outcome switch
        {
            EvaluationOutcome.ImprovedSignificantly => "deploy",
            EvaluationOutcome.Marginal => "test more",
            EvaluationOutcome.NoImprovement => "revise the data or the method",
            _ => "don't deploy",
        };
}

/// <summary>The statistics of an evaluation (see <see cref="EvaluationStatistics.Compute"/>).</summary>
public sealed record EvaluationSummary
{
    public required ScoreComparison Overall { get; init; }

    /// <summary>Per topic, by name.</summary>
    public required IReadOnlyList<ScoreComparison> Topics { get; init; }

    /// <summary>The paired bootstrap 95% interval of the overall difference in mean score (fine-tuned minus base).</summary>
    public required Interval DifferenceInterval { get; init; }

    /// <summary>The same interval as a share of the base's mean score, in percent; null when the base scored 0.</summary>
    public required Interval? ImprovementPercentInterval { get; init; }

    public required WinRate WinRate { get; init; }

    public required EvaluationOutcome Outcome { get; init; }

    public required string Advice { get; init; }

    /// <summary>Topics whose fine-tuned score fell below the base's by more than the policy tolerates, worst first.</summary>
    public required IReadOnlyList<string> RegressedTopics { get; init; }

    public required bool AllTopicsImproved { get; init; }

    /// <summary>The rows the fine-tuned model gained most on, largest first (at most 3).</summary>
    public required IReadOnlyList<EvaluatedRow> LargestGains { get; init; }

    /// <summary>The rows it lost most on, largest loss first (at most 3).</summary>
    public required IReadOnlyList<EvaluatedRow> LargestLosses { get; init; }

    public required int BootstrapResamples { get; init; }

    public required ulong BootstrapSeed { get; init; }
}

/// <summary>
/// The statistics of a held-out evaluation, pure and deterministic: rows are put in the order of their <see cref="EvaluatedRow.RowId"/>
/// first, so the same rows evaluated in any order or batches give the same summary, and the bootstrap is seeded.
/// </summary>
public static class EvaluationStatistics
{
    public const int DefaultResamples = 2000;

    public const int Samples = 3;

    public static EvaluationSummary Compute(
        IEnumerable<EvaluatedRow> evaluated,
        PromotionPolicy policy,
        ulong seed = 42,
        int resamples = DefaultResamples
    )
    {
        EvaluatedRow[] rows = [.. evaluated.OrderBy(r => r.RowId, StringComparer.Ordinal)];
        if (rows.Length == 0)
        {
            throw new ArgumentException("An evaluation needs at least one row.", nameof(evaluated));
        }

        ScoreComparison overall = Compare("overall", rows);
        ScoreComparison[] topics =
        [
            .. rows.GroupBy(r => r.Topic, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => Compare(g.Key, [.. g])),
        ];
        Interval difference = Bootstrap(rows, seed, resamples);
        Interval? percent =
            overall.BaseScore > 0
                ? new Interval(100 * difference.Low / overall.BaseScore, 100 * difference.High / overall.BaseScore)
                : null;
        string[] regressed =
        [
            .. topics
                .Where(t => Regressed(t, policy))
                .OrderBy(t => t.Difference)
                .ThenBy(t => t.Name, StringComparer.Ordinal)
                .Select(t => t.Name),
        ];
        EvaluationOutcome outcome = Classify(overall, difference, policy);
        return new EvaluationSummary
        {
            Overall = overall,
            Topics = topics,
            DifferenceInterval = difference,
            ImprovementPercentInterval = percent,
            WinRate = Judged(rows),
            Outcome = outcome,
            Advice = EvaluationOutcomes.Advice(outcome),
            RegressedTopics = regressed,
            AllTopicsImproved = topics.All(t => t.Difference > 0),
            LargestGains =
            [
                .. rows.Where(r => r.Gain > 0).OrderByDescending(r => r.Gain).ThenBy(r => r.RowId, StringComparer.Ordinal).Take(Samples),
            ],
            LargestLosses =
            [
                .. rows.Where(r => r.Gain < 0).OrderBy(r => r.Gain).ThenBy(r => r.RowId, StringComparer.Ordinal).Take(Samples),
            ],
            BootstrapResamples = resamples,
            BootstrapSeed = seed,
        };
    }

    /// <summary>A topic regressed when its fine-tuned score is below its base's by more than the policy's tolerance (relative).</summary>
    internal static bool Regressed(ScoreComparison topic, PromotionPolicy policy) =>
        topic.ImprovementPercent is double percent ? percent < -100 * policy.MaxTopicRegression : topic.Difference < 0;

    private static ScoreComparison Compare(string name, EvaluatedRow[] rows)
    {
        double baseMean = rows.Average(r => r.BaseScore);
        double tunedMean = rows.Average(r => r.FineTunedScore);
        double difference = tunedMean - baseMean;
        return new ScoreComparison(name, rows.Length, baseMean, tunedMean, difference, baseMean > 0 ? 100 * difference / baseMean : null);
    }

    /// <summary>
    /// The paired bootstrap: <paramref name="resamples"/> times, draw as many rows as there are, with replacement, and take
    /// the mean of their differences; the 2.5th and 97.5th percentiles of those means. Pairing keeps each row's base and
    /// fine-tuned scores together, so the interval reflects how consistently the model improved, not how hard the rows were.
    /// </summary>
    private static Interval Bootstrap(EvaluatedRow[] rows, ulong seed, int resamples)
    {
        double[] gains = [.. rows.Select(r => r.Gain)];
        var means = new double[resamples];
        var random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        for (int b = 0; b < resamples; b++)
        {
            double sum = 0;
            for (int i = 0; i < gains.Length; i++)
            {
                sum += gains[random.Next(gains.Length)];
            }

            means[b] = sum / gains.Length;
        }

        Array.Sort(means);
        return new Interval(Percentile(means, 0.025), Percentile(means, 0.975));
    }

    /// <summary>The <paramref name="p"/> quantile of sorted values, interpolated between neighbours.</summary>
    internal static double Percentile(double[] sorted, double p)
    {
        double at = p * (sorted.Length - 1);
        int below = (int)Math.Floor(at);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
    }

    private static WinRate Judged(EvaluatedRow[] rows)
    {
        int wins = rows.Count(r => r.Judged == Preference.FineTuned);
        int losses = rows.Count(r => r.Judged == Preference.Base);
        int ties = rows.Count(r => r.Judged == Preference.Tie);
        return new WinRate(wins, losses, ties, wins + losses > 0 ? (double)wins / (wins + losses) : null);
    }

    private static EvaluationOutcome Classify(ScoreComparison overall, Interval difference, PromotionPolicy policy)
    {
        if (difference.High < 0)
            return EvaluationOutcome.Regression;
        double relative =
            overall.BaseScore > 0 ? overall.Difference / overall.BaseScore
            : overall.Difference > 0 ? 1
            : 0;
        if (difference.Low > 0 && relative >= policy.MinImprovement)
            return EvaluationOutcome.ImprovedSignificantly;
        return overall.Difference > 0 ? EvaluationOutcome.Marginal : EvaluationOutcome.NoImprovement;
    }
}

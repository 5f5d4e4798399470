using System.Globalization;

namespace FineTuning.Core.Evaluation;

/// <summary>
/// When a fine-tuned model may be promoted, with defaults a request may override: its score improves on the base's by
/// at least <see cref="MinImprovement"/> (relative) with a 95% interval above 0, no topic falls by more than
/// <see cref="MaxTopicRegression"/> (relative), and the pairwise judge prefers it at least <see cref="MinWinRate"/> of the
/// time it prefers either (ties apart).
/// </summary>
public sealed record PromotionPolicy
{
    /// <summary>The least relative improvement of the mean score (0.10: 10%).</summary>
    public double MinImprovement { get; set; } = 0.10;

    /// <summary>Whether the improvement's 95% interval must be above 0 (more than noise).</summary>
    public bool RequireIntervalAboveZero { get; set; } = true;

    /// <summary>The most any topic's mean score may fall, relative to its base (0.05: 5%).</summary>
    public double MaxTopicRegression { get; set; } = 0.05;

    /// <summary>The least win rate in the pairwise comparison, ties apart (0.60: 60%); unchecked when no row was judged.</summary>
    public double MinWinRate { get; set; } = 0.60;

    /// <summary>Describes what is wrong with these settings, or null when they are usable.</summary>
    public string? Problem() =>
        MinImprovement is < 0 or > 10 || double.IsNaN(MinImprovement) ? "minImprovement must be between 0 and 10 (1000%)"
        : MaxTopicRegression is < 0 or > 1 || double.IsNaN(MaxTopicRegression) ? "maxTopicRegression must be between 0 and 1"
        : MinWinRate is < 0 or > 1 || double.IsNaN(MinWinRate) ? "minWinRate must be between 0 and 1"
        : null;

    /// <summary>Whether <paramref name="summary"/> passes, and every reason it does not, in words.</summary>
    public PromotionDecision Decide(EvaluationSummary summary)
    {
        var reasons = new List<string>();
        ScoreComparison overall = summary.Overall;
        double? relative = overall.ImprovementPercent / 100;
        if (relative is null ? overall.Difference <= 0 : relative < MinImprovement)
        {
            reasons.Add(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"the score improved by {Percent(relative)} ({overall.BaseScore:0.###} → {overall.FineTunedScore:0.###}); "
                        + $"the policy needs at least {Whole(MinImprovement)}"
                )
            );
        }

        if (RequireIntervalAboveZero && summary.DifferenceInterval.Low <= 0)
        {
            reasons.Add(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"the improvement's 95% interval ({summary.DifferenceInterval.Low:+0.###;-0.###;0} to "
                        + $"{summary.DifferenceInterval.High:+0.###;-0.###;0}) is not above 0: it may be noise"
                )
            );
        }

        foreach (string topic in summary.RegressedTopics)
        {
            ScoreComparison t = summary.Topics.Single(s => s.Name == topic);
            reasons.Add(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"topic '{topic}' fell by {Percent(-t.ImprovementPercent / 100)} ({t.BaseScore:0.###} → {t.FineTunedScore:0.###}); "
                        + $"the policy allows {Whole(MaxTopicRegression)}"
                )
            );
        }

        if (summary.WinRate.Rate is double rate && rate < MinWinRate)
        {
            reasons.Add(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"the judge preferred the fine-tuned answer in {Whole(rate)} of decided pairs ({summary.WinRate.Wins} wins, "
                        + $"{summary.WinRate.Losses} losses, {summary.WinRate.Ties} ties); the policy needs {Whole(MinWinRate)}"
                )
            );
        }

        return new PromotionDecision(reasons.Count == 0, reasons);
    }

    private static string Percent(double? share) =>
        share is double s ? (100 * s).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "an unknown share (the base scored 0)";

    private static string Whole(double share) => (100 * share).ToString("0", CultureInfo.InvariantCulture) + "%";
}

/// <summary>Whether a model passed its promotion policy, and why not.</summary>
public sealed record PromotionDecision(bool Passed, IReadOnlyList<string> Reasons);

using System.Text.Json;
using FineTuning.Core.Evaluation;

namespace FineTuning.Tests.Evaluation;

/// <summary>The evaluation's statistics against values worked out by hand, and the promotion policy's decisions.</summary>
public class EvaluationStatisticsTests
{
    private static EvaluatedRow Row(string id, string topic, double baseScore, double tuned, Preference? judged = null) =>
        new(id, id.Length, topic, $"prompt {id}", $"reference {id}", $"base {id}", baseScore, $"tuned {id}", tuned, judged);

    /// <summary>
    /// billing: 0.5→1.0, 0.5→0.5, 0.0→0.5 (means 1/3 → 2/3, +100%); returns: 1.0→0.5, 1.0→1.0 (1.0 → 0.75, −25%);
    /// overall 0.6 → 0.7 (+16.7%); the judge: 2 wins, 1 loss, 1 tie, 1 not asked (win rate 2/3).
    /// </summary>
    private static readonly EvaluatedRow[] Fixed =
    [
        Row("b1", "billing", 0.5, 1.0, Preference.FineTuned),
        Row("b2", "billing", 0.5, 0.5, Preference.Tie),
        Row("b3", "billing", 0.0, 0.5, Preference.FineTuned),
        Row("r1", "returns", 1.0, 0.5, Preference.Base),
        Row("r2", "returns", 1.0, 1.0),
    ];

    [Fact]
    public void MeansImprovementWinRateAndSamples_AreTheValuesWorkedOutByHand()
    {
        EvaluationSummary summary = EvaluationStatistics.Compute(Fixed, new PromotionPolicy());

        Assert.Equal(5, summary.Overall.Rows);
        Assert.Equal(0.6, summary.Overall.BaseScore, 9);
        Assert.Equal(0.7, summary.Overall.FineTunedScore, 9);
        Assert.Equal(0.1, summary.Overall.Difference, 9);
        Assert.Equal(100.0 / 6, summary.Overall.ImprovementPercent!.Value, 9);
        ScoreComparison billing = summary.Topics[0],
            returns = summary.Topics[1];
        Assert.Equal(
            ("billing", 3, 1.0 / 3, 2.0 / 3, 100.0),
            (billing.Name, billing.Rows, billing.BaseScore, billing.FineTunedScore, billing.ImprovementPercent!.Value),
            new Close()
        );
        Assert.Equal(
            ("returns", 2, 1.0, 0.75, -25.0),
            (returns.Name, returns.Rows, returns.BaseScore, returns.FineTunedScore, returns.ImprovementPercent!.Value),
            new Close()
        );
        Assert.Equal(new WinRate(2, 1, 1, 2.0 / 3), summary.WinRate);
        Assert.Equal(["returns"], summary.RegressedTopics);
        Assert.False(summary.AllTopicsImproved);
        Assert.Equal(["b1", "b3"], summary.LargestGains.Select(r => r.RowId));
        Assert.Equal(["r1"], summary.LargestLosses.Select(r => r.RowId));
        // The gains are 0.5, 0, 0.5, −0.5, 0: the interval holds the mean and reaches below 0, so the gain may be noise.
        Assert.InRange(summary.DifferenceInterval.Low, -0.5, 0);
        Assert.InRange(summary.DifferenceInterval.High, 0.1, 0.5);
        Assert.Equal(EvaluationOutcome.Marginal, summary.Outcome);
        Assert.Equal("test more", summary.Advice);
    }

    [Fact]
    public void TheDefaultPolicy_RejectsTheFixedSet_NamingTheNoisyIntervalAndTheRegressedTopic()
    {
        PromotionDecision decision = new PromotionPolicy().Decide(EvaluationStatistics.Compute(Fixed, new PromotionPolicy()));

        Assert.False(decision.Passed);
        Assert.Equal(2, decision.Reasons.Count);
        Assert.Contains("95% interval", decision.Reasons[0], StringComparison.Ordinal);
        Assert.Contains("topic 'returns' fell by 25.0%", decision.Reasons[1], StringComparison.Ordinal);
    }

    [Fact]
    public void AConsistentGain_HasAnIntervalOfItsOwnSize_AndPasses()
    {
        EvaluatedRow[] rows =
        [
            .. Enumerable.Range(0, 40).Select(i => Row($"x{i:00}", i % 2 == 0 ? "a" : "b", 0.5, 0.7, Preference.FineTuned)),
        ];

        EvaluationSummary summary = EvaluationStatistics.Compute(rows, new PromotionPolicy());

        Assert.Equal(0.2, summary.DifferenceInterval.Low, 9);
        Assert.Equal(0.2, summary.DifferenceInterval.High, 9);
        Assert.Equal(40.0, summary.ImprovementPercentInterval!.Low, 9);
        Assert.Equal(EvaluationOutcome.ImprovedSignificantly, summary.Outcome);
        Assert.True(summary.AllTopicsImproved);
        Assert.True(new PromotionPolicy().Decide(summary).Passed);
    }

    [Theory]
    [InlineData(0.9, 0.3, EvaluationOutcome.Regression, "don't deploy")]
    [InlineData(0.5, 0.5, EvaluationOutcome.NoImprovement, "revise the data or the method")]
    [InlineData(0.50, 0.52, EvaluationOutcome.Marginal, "test more")]
    public void TheOutcome_FollowsTheDifferenceAndItsInterval(double baseScore, double tuned, EvaluationOutcome outcome, string advice)
    {
        EvaluatedRow[] rows = [.. Enumerable.Range(0, 30).Select(i => Row($"y{i:00}", "t", baseScore, tuned))];

        EvaluationSummary summary = EvaluationStatistics.Compute(rows, new PromotionPolicy());

        Assert.Equal(outcome, summary.Outcome);
        Assert.Equal(advice, summary.Advice);
    }

    [Fact]
    public void Percentiles_InterpolateBetweenNeighbours()
    {
        double[] sorted = [1, 2, 3, 4, 5];

        Assert.Equal(1.1, EvaluationStatistics.Percentile(sorted, 0.025), 9);
        Assert.Equal(4.9, EvaluationStatistics.Percentile(sorted, 0.975), 9);
        Assert.Equal(3, EvaluationStatistics.Percentile(sorted, 0.5), 9);
    }

    [Fact]
    public void TheSummary_IsTheSame_HoweverTheRowsAreOrderedOrBatched()
    {
        var random = new Random(7);
        EvaluatedRow[] rows =
        [
            .. Enumerable
                .Range(0, 200)
                .Select(i => Row($"row-{i:000}", $"topic-{i % 4}", random.Next(0, 2), random.NextDouble(), (Preference)random.Next(0, 3))),
        ];
        string expected = JsonSerializer.Serialize(EvaluationStatistics.Compute(rows, new PromotionPolicy()));

        for (int round = 0; round < 20; round++)
        {
            // Batches evaluated in any order and concatenated: what the workflow's fan-out gives back.
            int size = random.Next(1, 60);
            EvaluatedRow[] shuffled =
            [
                .. rows.Chunk(size).OrderBy(_ => random.Next()).SelectMany(batch => batch.OrderBy(_ => random.Next())),
            ];
            Assert.Equal(expected, JsonSerializer.Serialize(EvaluationStatistics.Compute(shuffled, new PromotionPolicy())));
        }
    }

    [Fact]
    public void ABadPolicy_SaysWhatIsWrong()
    {
        Assert.Null(new PromotionPolicy().Problem());
        Assert.Contains("minWinRate", new PromotionPolicy { MinWinRate = 1.5 }.Problem(), StringComparison.Ordinal);
        Assert.Contains("maxTopicRegression", new PromotionPolicy { MaxTopicRegression = -1 }.Problem(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EvaluationStatistics.Compute([], new PromotionPolicy()));
    }

    /// <summary>Tuples of a name, a count and three scores compared to 9 decimal places.</summary>
    private sealed class Close : IEqualityComparer<(string, int, double, double, double)>
    {
        public bool Equals((string, int, double, double, double) x, (string, int, double, double, double) y) =>
            x.Item1 == y.Item1
            && x.Item2 == y.Item2
            && Math.Abs(x.Item3 - y.Item3) < 1e-9
            && Math.Abs(x.Item4 - y.Item4) < 1e-9
            && Math.Abs(x.Item5 - y.Item5) < 1e-9;

        public int GetHashCode((string, int, double, double, double) obj) => obj.Item1.GetHashCode(StringComparison.Ordinal);
    }
}

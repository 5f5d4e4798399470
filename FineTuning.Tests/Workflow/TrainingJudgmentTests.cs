using FineTuning.Core.Providers;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Tests.Workflow;

/// <summary>The training curve's judgment (results.json's <c>training</c>): its outcome and its three warnings.</summary>
public sealed class TrainingJudgmentTests
{
    private static IReadOnlyList<ResultRow> Curve(params (double Train, double Valid)[] steps) =>
        [
            .. steps.Select(
                (s, i) => new ResultRow(i + 1, new Dictionary<string, double> { ["train_loss"] = s.Train, ["valid_loss"] = s.Valid })
            ),
        ];

    private static ResultsSummary Judge(IReadOnlyList<ResultRow> rows, bool reward = false) =>
        CollectResults.Judge(rows, reward, "runs/r/reports/results.json");

    [Fact]
    public void AHealthyCurve_ImprovesSignificantly_WithNoWarning()
    {
        ResultsSummary training = Judge(Curve((2.0, 2.1), (1.4, 1.5), (1.0, 1.1), (0.8, 0.9)));

        Assert.Equal("improved_significantly", training.Outcome);
        Assert.Empty(training.Warnings);
        Assert.False(training.Stalled || training.LargeGap || training.OverfittingWarning);
    }

    [Fact]
    public void AFlatTrainLoss_IsLearningStalled()
    {
        ResultsSummary training = Judge(Curve((1.50, 1.60), (1.49, 1.59), (1.50, 1.60), (1.48, 1.58)));

        Assert.True(training.Stalled);
        Assert.Contains(training.Warnings, w =>
            w.StartsWith("learning stalled: train_loss went from 1.5 to 1.48 over 4 steps", StringComparison.Ordinal)
        );
    }

    [Fact]
    public void AValidationLossFarAboveTheTrainLoss_IsALargeGap()
    {
        ResultsSummary training = Judge(Curve((2.0, 2.0), (1.0, 1.6), (0.5, 1.4), (0.2, 1.3)));

        Assert.True(training.LargeGap);
        Assert.False(training.Stalled);
        Assert.Contains(training.Warnings, w =>
            w.StartsWith("large train-validation gap: train_loss 0.2 against valid_loss 1.3", StringComparison.Ordinal)
        );
    }

    [Fact]
    public void ValidationWorseningWhileTrainingImproves_IsOverfitting_InWords()
    {
        ResultsSummary training = Judge(Curve((2.0, 2.0), (1.2, 1.0), (0.9, 1.2), (0.85, 1.3)));

        Assert.True(training.OverfittingWarning);
        Assert.Contains(training.Warnings, w =>
            w.StartsWith("overfitting: valid_loss ended at 1.3, over 5% worse than its best (1)", StringComparison.Ordinal)
        );
    }

    [Fact]
    public void ARewardCurve_IsJudgedUpwards_AndItsGapIsAShortfall()
    {
        IReadOnlyList<ResultRow> rows =
        [
            .. new[] { (0.2, 0.2), (0.5, 0.3), (0.8, 0.35), (0.9, 0.4) }.Select(
                (s, i) =>
                    new ResultRow(
                        i + 1,
                        new Dictionary<string, double> { ["train_reward_mean"] = s.Item1, ["valid_reward_mean"] = s.Item2 }
                    )
            ),
        ];

        ResultsSummary training = Judge(rows, reward: true);

        Assert.Equal("improved_significantly", training.Outcome);
        Assert.True(training.LargeGap);
        Assert.False(training.Stalled);
    }
}

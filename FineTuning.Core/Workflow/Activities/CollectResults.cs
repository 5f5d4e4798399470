using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Gathers events, checkpoints and the results file into <c>runs/{runId}/reports/results.json</c> and judges the run:
/// the headline metric (validation loss, or validation reward for reinforcement) from first to last; improved
/// significantly above 10%, marginal above 2%, no improvement within ±2%, regression below; an overfitting warning
/// when validation ends over 5% worse than its best while training kept improving.
/// </summary>
public sealed class CollectResults(IBlobStore blobs, IFineTuningProvider provider) : IWorkflowActivity<CollectResultsInput, ResultsSummary>
{
    public async Task<ResultsSummary> RunAsync(CollectResultsInput input, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ProviderEvent> events = await provider.GetEventsAsync(input.JobId, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ProviderCheckpoint> checkpoints = await provider
            .GetCheckpointsAsync(input.JobId, cancellationToken)
            .ConfigureAwait(false);
        IReadOnlyList<ResultRow> rows = await provider.GetResultsAsync(input.JobId, cancellationToken).ConfigureAwait(false);
        ResultsSummary summary = Judge(rows, input.Method == "reinforcement", $"runs/{input.RunId}/reports/results.json");
        var report = new ResultsReport(input.RunId, input.JobId, summary, checkpoints, rows, events);
        await blobs
            .WriteAsync(
                summary.ReportBlob,
                (s, ct) => JsonSerializer.SerializeAsync(s, report, ReportSerializer.TypeInfo<ResultsReport>(), ct),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        return summary;
    }

    public static ResultsSummary Judge(IReadOnlyList<ResultRow> rows, bool reward, string reportBlob)
    {
        string metric = reward ? "valid_reward_mean" : "valid_loss";
        double?[] valid = [.. rows.Select(r => reward ? r.ValidReward : r.ValidLoss)];
        double?[] train = [.. rows.Select(r => reward ? r.TrainReward : r.TrainLoss)];
        double? baseline = valid.FirstOrDefault(v => v is not null),
            final = valid.LastOrDefault(v => v is not null);
        if (baseline is not double b || final is not double f || b == 0)
        {
            return new ResultsSummary(metric, baseline, final, null, "unknown", false, reportBlob);
        }

        double improvement = reward ? (f - b) / Math.Abs(b) : (b - f) / Math.Abs(b);
        string outcome =
            improvement > 0.10 ? "improved_significantly"
            : improvement > 0.02 ? "marginal"
            : improvement >= -0.02 ? "no_improvement"
            : "regression";
        double best = reward ? valid.Where(v => v is not null).Max()!.Value : valid.Where(v => v is not null).Min()!.Value;
        bool validWorsened = reward ? f < best * 0.95 : f > best * 1.05;
        double? firstTrain = train.FirstOrDefault(v => v is not null),
            lastTrain = train.LastOrDefault(v => v is not null);
        bool trainImproved = firstTrain is double t0 && lastTrain is double t1 && (reward ? t1 > t0 : t1 < t0);
        bool overfitting = validWorsened && trainImproved;
        string trainMetric = reward ? "train_reward_mean" : "train_loss";
        var warnings = new List<string>();
        if (overfitting)
        {
            warnings.Add(
                (
                    $"overfitting: {metric} ended at {N(f)}, over 5% worse than its best ({N(best)}), while {trainMetric} kept improving; "
                    + "train fewer epochs, or add varied examples"
                )
            );
        }

        // Stalled: the train metric moved less than 2% from its first step to its last, over at least four steps.
        int trained = train.Count(v => v is not null);
        bool stalled =
            trained >= 4
            && firstTrain is double s0
            && lastTrain is double s1
            && s0 != 0
            && (reward ? s1 - s0 : s0 - s1) / Math.Abs(s0) < 0.02;
        if (stalled)
        {
            warnings.Add(
                (
                    $"learning stalled: {trainMetric} went from {N(firstTrain)} to {N(lastTrain)} over {trained} steps (under 2%); "
                    + "raise the learning-rate multiplier or the epochs, or check that the examples teach what the base model does not do"
                )
            );
        }

        // A large gap at the end: validation loss over 1.5 times the train loss (and 0.1 above it), or a validation reward
        // more than 25% below the train reward.
        bool gap = lastTrain is double lt && (reward ? lt - f > 0.25 * Math.Abs(lt) : f > 1.5 * lt && f - lt > 0.1);
        if (gap)
        {
            warnings.Add(
                (
                    $"large train-validation gap: {trainMetric} {N(lastTrain)} against {metric} {N(f)} at the end; the model fits "
                    + "its training examples much better than the held-back ones: add varied examples, or train fewer epochs"
                )
            );
        }

        return new ResultsSummary(metric, b, f, Math.Round(improvement, 4), outcome, overfitting, reportBlob)
        {
            Stalled = stalled,
            LargeGap = gap,
            Warnings = warnings,
        };
    }

    private static string N(double? value) => value?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) ?? "?";
}

using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Reads every evaluated row the batches kept, computes the statistics (<see cref="EvaluationStatistics"/>) and the
/// promotion decision, prices the tokens with the catalogue, and writes <c>runs/{runId}/reports/evaluation.json</c>;
/// returns its digest.
/// </summary>
public sealed class ReportEvaluation(IBlobStore blobs, ModelCatalog catalog) : IWorkflowActivity<ReportEvaluationInput, EvaluationDigest>
{
    public async Task<EvaluationDigest> RunAsync(ReportEvaluationInput input, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<(long Line, string Json)> planned = await EvaluateBatch
            .ReadRowsAsync(blobs, input.RowsBlob, 0, -1, cancellationToken)
            .ConfigureAwait(false);
        var rows = new List<EvaluatedRow>();
        foreach ((_, string json) in planned)
        {
            string blob = EvaluateBatch.AnswersPrefix(input.RunId) + HeldOutEvaluator.RowId(json) + ".json";
            if (await blobs.GetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is null)
                continue; // no assistant turn to compare with
            await using Stream stream = await blobs.OpenReadAsync(blob, cancellationToken).ConfigureAwait(false);
            rows.Add(
                await JsonSerializer
                    .DeserializeAsync(stream, ReportSerializer.TypeInfo<EvaluatedRow>(), cancellationToken)
                    .ConfigureAwait(false)
                    ?? throw new InvalidDataException($"{blob} holds no evaluated row.")
            );
        }

        if (rows.Count == 0)
        {
            throw new EvaluationImpossibleException(
                $"None of the {planned.Count} held-out rows has anything to compare answers with (an assistant turn, a preferred "
                    + "output, or a grader for reinforcement rows): nothing was evaluated. Run without evaluating (evaluate: false, "
                    + "--no-eval), or fix the rows."
            );
        }

        EvaluationSummary summary = EvaluationStatistics.Compute(rows, input.Policy);
        PromotionDecision decision = input.Policy.Decide(summary);
        EvaluationUsage tokens = rows.Aggregate(EvaluationUsage.Zero, (sum, r) => sum.Add(r.Usage ?? EvaluationUsage.Zero));
        (decimal? cost, List<string> notes) = EvaluationCost.Of(tokens, input.Models, catalog);
        if (planned.Count < input.HeldOutRows)
            notes.Insert(
                0,
                $"{planned.Count:N0} of the {input.HeldOutRows:N0} held-out rows were evaluated (a stratified, seeded sample)."
            );
        if (rows.Count < planned.Count)
            notes.Add($"{planned.Count - rows.Count:N0} rows have no assistant turn to compare with and were skipped.");
        string reportBlob = $"runs/{input.RunId}/reports/evaluation.json";
        var report = new EvaluationReport(
            input.RunId,
            input.Models,
            rows.Count,
            input.HeldOutRows,
            summary,
            input.Policy,
            decision,
            tokens,
            cost,
            notes
        )
        {
            ScoredBy =
                input.GraderOnReference ? "the evaluation grader against each row's reference (the higher score wins a pair)"
                : input.ScoredByGrader ? "the run's grader (the higher reward wins a pair)"
                : $"{input.Models.JudgeModel} as judge (a rubric against the reference, and both answers compared in both orders)",
        };
        await blobs
            .WriteAsync(
                reportBlob,
                (s, ct) => JsonSerializer.SerializeAsync(s, report, ReportSerializer.TypeInfo<EvaluationReport>(), ct),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        return new EvaluationDigest(
            rows.Count,
            summary.Overall.BaseScore,
            summary.Overall.FineTunedScore,
            summary.Overall.ImprovementPercent,
            summary.ImprovementPercentInterval,
            summary.WinRate.Rate,
            summary.Outcome,
            summary.Advice,
            summary.AllTopicsImproved,
            summary.RegressedTopics,
            decision.Passed,
            decision.Reasons,
            cost,
            reportBlob
        );
    }
}

using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>Merges the shard reports into the dataset's report (<c>runs/{runId}/reports/validation.json</c>).</summary>
public sealed class MergeValidation(IBlobStore blobs, ModelCatalog catalog, Evaluation.EvaluationOptions? evaluation = null)
    : IWorkflowActivity<MergeValidationInput, ValidationSummary>
{
    public async Task<ValidationSummary> RunAsync(MergeValidationInput input, CancellationToken cancellationToken = default)
    {
        // One shard report in memory at a time, merged as it is read (the merged row hashes spill past their limit).
        DatasetValidator validator = new(input.Settings.ToOptions(catalog));
        ShardReport merged = ShardReport.Empty(validator.Options);
        foreach (string blob in input.ReportBlobs)
        {
            await using Stream stream = await blobs.OpenReadAsync(blob, cancellationToken).ConfigureAwait(false);
            ShardReport shard = await JsonSerializer
                .DeserializeAsync(stream, ReportSerializer.TypeInfo<ShardReport>(), cancellationToken)
                .ConfigureAwait(false)
                ?? throw new InvalidDataException($"{blob} holds no shard report.");
            if (input.Settings.NearDuplicates)
            {
                string sketchesBlob = ValidateShard.SketchesBlob(blob);
                await using Stream sketches = await blobs.OpenReadAsync(sketchesBlob, cancellationToken).ConfigureAwait(false);
                shard.Sketches = await MinHashSketches.ReadFromAsync(sketches, sketchesBlob, cancellationToken).ConfigureAwait(false);
            }

            merged.MergeFrom(shard, validator.Options.MaxFindingsPerCode);
        }

        DatasetReport report = validator.Finish(merged, Path.GetFileName(input.DatasetBlob));
        string reportBlob = $"runs/{input.RunId}/reports/validation.json";
        await blobs
            .WriteAsync(
                reportBlob,
                (s, ct) => JsonSerializer.SerializeAsync(s, report, ReportSerializer.TypeInfo<DatasetReport>(), ct),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        Finding[] firstErrors = [.. report.Findings.Where(f => f.Severity == Severity.Error).Take(5)];
        return new ValidationSummary(
            report.Fit,
            report.Method,
            report.Model,
            report.Rows,
            report.Examples,
            report.ErrorRows,
            report.Verdict,
            firstErrors,
            reportBlob
        )
        {
            Estimate = Estimation.CostEstimator.Estimate(
                report,
                catalog,
                input.Settings.Model,
                input.Settings.Epochs,
                input.Settings.TrainRatio
            ),
            EvaluationEstimate =
                input.Settings.EvaluationRatio > 0
                    ? Evaluation.EvaluationEstimator.Estimate(
                        report.Tokens,
                        Evaluation.EvaluationEstimator.Rows(report.Examples, input.Settings.EvaluationRatio, input.Settings.MaxEvalRows),
                        report.Model,
                        input.Settings.JudgeModel ?? (evaluation ?? new Evaluation.EvaluationOptions()).JudgeModel,
                        catalog,
                        // Reinforcement runs and runs with an evaluation grader grade answers here: no judge is called.
                        judged: report.Method != "reinforcement" && !input.Settings.EvalGrader,
                        providerGraded: report.Method == "reinforcement"
                            && input.Settings.Grader is { } grader
                            && !Graders.GraderRunner.IsExact(grader)
                    )
                    : null,
        };
    }
}

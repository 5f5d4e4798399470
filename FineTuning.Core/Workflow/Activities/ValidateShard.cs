using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Validates one shard (a range of the dataset blob) and writes its <see cref="ShardReport"/> under
/// <c>runs/{runId}/shards/</c>, and beside it the rows' MinHash signatures when fuzzy near-duplicates are asked for.
/// </summary>
public sealed class ValidateShard(IBlobStore blobs, ModelCatalog catalog) : IWorkflowActivity<ValidateShardInput, ShardValidated>
{
    public async Task<ShardValidated> RunAsync(ValidateShardInput input, CancellationToken cancellationToken = default)
    {
        var validator = new DatasetValidator(input.Settings.ToOptions(catalog));
        ShardReport report;
        await using (
            Stream shard = await blobs
                .OpenReadRangeAsync(input.Shard.BlobName, input.Shard.Offset, input.Shard.Length, input.Shard.ETag, cancellationToken)
                .ConfigureAwait(false)
        )
        {
            report = validator.ValidateShard(shard, input.Shard.FirstLine, input.Shard.IsFileStart, cancellationToken: cancellationToken);
        }

        string reportBlob = $"runs/{input.RunId}/shards/{input.Shard.Index:D5}.report.json";
        await blobs
            .WriteAsync(
                reportBlob,
                (s, ct) => System.Text.Json.JsonSerializer.SerializeAsync(s, report, ReportSerializer.TypeInfo<ShardReport>(), ct),
                cancellationToken: cancellationToken
            )
            .ConfigureAwait(false);
        if (input.Settings.NearDuplicates)
        {
            // The signatures are compared only when every shard is in: they go beside the report (never in it).
            MinHashSketches sketches = report.Sketches ?? new MinHashSketches();
            await blobs
                .WriteAsync(SketchesBlob(reportBlob), sketches.WriteToAsync, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }

        return new ShardValidated(reportBlob, report.Rows, report.ErrorRows);
    }

    /// <summary>Where the MinHash signatures of the shard whose report is <paramref name="reportBlob"/> are written.</summary>
    public static string SketchesBlob(string reportBlob) =>
        reportBlob.EndsWith(".report.json", StringComparison.Ordinal)
            ? reportBlob[..^".report.json".Length] + ".sketches.bin"
            : reportBlob + ".sketches.bin";
}

using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>
/// Validates one shard (a range of the dataset blob) and writes its <see cref="ShardReport"/> under
/// <c>runs/{runId}/shards/</c>.
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
        return new ShardValidated(reportBlob, report.Rows, report.ErrorRows);
    }
}

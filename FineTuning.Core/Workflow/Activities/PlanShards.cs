using FineTuning.Core.Sharding;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Workflow.Activities;

public sealed record PlanShardsInput(string RunId, string DatasetBlob, long ShardBytes = ShardPlanner.DefaultShardBytes);

/// <summary>Cuts the dataset into shard blobs under <c>runs/{runId}/shards/</c>; running it again rewrites the same blobs.</summary>
public sealed class PlanShards(IBlobStore blobs)
{
    public async Task<ShardPlan> RunAsync(PlanShardsInput input, CancellationToken cancellationToken = default)
    {
        BlobProperties dataset = await blobs.GetPropertiesAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false)
            ?? throw new Storage.BlobNotFoundException(input.DatasetBlob);
        await using Stream source = await blobs.OpenReadAsync(input.DatasetBlob, cancellationToken).ConfigureAwait(false);
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var refs = new List<ShardRef>();
        await ShardPlanner.SplitAsync(source, input.ShardBytes, async (shard, content, ct) =>
        {
            // Shards are whole and in order, so hashing them in turn hashes the dataset.
            sha.AppendData(content.Span);
            string name = $"runs/{input.RunId}/shards/{shard.FileName}";
            await blobs.WriteAsync(name, (target, token) => target.WriteAsync(content, token).AsTask(),
                new Dictionary<string, string> { ["firstLine"] = shard.FirstLine.ToString(System.Globalization.CultureInfo.InvariantCulture) }, ct).ConfigureAwait(false);
            refs.Add(new ShardRef(shard.Index, name, shard.FirstLine, shard.Index == 0));
        }, cancellationToken).ConfigureAwait(false);
        return new ShardPlan(refs, dataset.Size, dataset.ETag, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }
}

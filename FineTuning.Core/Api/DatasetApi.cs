using System.Security.Cryptography;
using FineTuning.Core.Storage;

namespace FineTuning.Core.Api;

/// <summary>
/// A dataset in the <c>datasets</c> container, as <c>GET /api/datasets</c> and <c>PUT /api/datasets/{name}</c> answer
/// (<see cref="Sha256"/> when the upload computed it).
/// </summary>
public sealed record DatasetInfo(string Name, string Blob, long Bytes, string ETag, DateTimeOffset LastModified, string? Sha256);

/// <summary>
/// The datasets both hosts accept over HTTP (the dashboard's upload): a JSONL file streamed into <c>datasets/{name}</c>,
/// at most <see cref="MaxBytes"/>, marked as uploaded so that neither the folder drop nor the blob trigger starts a run
/// for it (the person launches one after reading its report).
/// </summary>
public static class DatasetApi
{
    /// <summary>The blob metadata that says where a dataset came from.</summary>
    public const string SourceMetadata = "source";

    /// <summary>A dataset <c>finetune run</c> copied (the run is already started).</summary>
    public const string RunCommandSource = "finetune run";

    /// <summary>A dataset uploaded over HTTP (a run starts when asked).</summary>
    public const string UploadSource = "upload";

    /// <summary>The largest upload: the provider's limit for one file.</summary>
    public const long MaxBytes = 512L * 1000 * 1000;

    /// <summary>
    /// Whether a dataset blob must not start a run when it appears: an upload (its run starts when asked), or the copy
    /// <c>finetune run</c> made, unchanged since (<paramref name="contentSha256"/>: the content seen now, when known).
    /// </summary>
    public static bool StartsNoRun(BlobProperties? properties, string? contentSha256 = null) =>
        properties?.Metadata.GetValueOrDefault(SourceMetadata) switch
        {
            UploadSource => true,
            RunCommandSource => contentSha256 is null || properties.Metadata.GetValueOrDefault("sha256") == contentSha256,
            _ => false,
        };

    /// <summary>The blob for a dataset name, or the problem with the name.</summary>
    public static (string? Blob, ApiProblem? Problem) BlobFor(string name)
    {
        string blob = $"datasets/{name}";
        string? problem =
            !name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? "must end with .jsonl"
            : name.Contains('/') || name.Contains('\\') ? "must be a file name, without folders"
            : name.Length > 200 ? "must be at most 200 characters"
            : BlobNames.Problem(blob);
        return problem is null
            ? (blob, null)
            : (null, ApiProblem.Validation(new Dictionary<string, string[]> { ["name"] = [$"'{name}' {problem}"] }));
    }

    /// <summary>
    /// Streams <paramref name="body"/> into the dataset's blob (never held in memory), with its SHA-256; a body over
    /// <see cref="MaxBytes"/> is a 413 and leaves no blob (the store replaces a blob only when its write completes).
    /// </summary>
    public static async Task<(DatasetInfo? Dataset, ApiProblem? Problem)> UploadAsync(
        IBlobStore blobs,
        string name,
        Stream body,
        CancellationToken cancellationToken = default
    )
    {
        (string? blob, ApiProblem? invalid) = BlobFor(name);
        if (blob is null)
            return (null, invalid);
        string? sha256 = null;
        try
        {
            BlobProperties written = await blobs
                .WriteAsync(
                    blob,
                    async (target, ct) =>
                    {
                        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                        byte[] buffer = new byte[1 << 20];
                        long total = 0;
                        for (int read; (read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0; )
                        {
                            total += read;
                            if (total > MaxBytes)
                                throw new TooLargeException();
                            hash.AppendData(buffer, 0, read);
                            await target.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                        }

                        sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
                    },
                    new Dictionary<string, string> { [SourceMetadata] = UploadSource },
                    cancellationToken
                )
                .ConfigureAwait(false);
            return (Info(written, sha256), null);
        }
        catch (TooLargeException)
        {
            return (
                null,
                new ApiProblem(
                    "https://tools.ietf.org/html/rfc9110#section-15.5.14",
                    "Content too large.",
                    413,
                    $"'{name}' is over {MaxBytes / 1_000_000:N0} MB, the most one dataset file may hold: split it, or upload it to the "
                        + "datasets container directly."
                )
            );
        }
    }

    /// <summary>Every JSONL dataset in the <c>datasets</c> container, by name.</summary>
    public static async Task<IReadOnlyList<DatasetInfo>> ListAsync(IBlobStore blobs, CancellationToken cancellationToken = default)
    {
        var datasets = new List<DatasetInfo>();
        await foreach (BlobProperties blob in blobs.ListAsync("datasets/", cancellationToken).ConfigureAwait(false))
        {
            if (blob.Name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
                datasets.Add(Info(blob, blob.Metadata.GetValueOrDefault("sha256")));
        }

        return [.. datasets.OrderBy(d => d.Name, StringComparer.Ordinal)];
    }

    private static DatasetInfo Info(BlobProperties blob, string? sha256) =>
        new(blob.Name["datasets/".Length..], blob.Name, blob.Size, blob.ETag, blob.LastModified, sha256);

    private sealed class TooLargeException : Exception;
}

using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using FineTuning.Core.Storage;

namespace FineTuning.Functions.Storage;

/// <summary><see cref="IBlobStore"/> on Azure Blob Storage: the first segment of a name is the container.</summary>
public sealed class AzureBlobStore(BlobServiceClient service) : IBlobStore
{
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Blob(name)
                .OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new BlobNotFoundException(name);
        }
    }

    public async Task<Stream> OpenReadRangeAsync(
        string name,
        long offset,
        long length,
        string ifMatch,
        CancellationToken cancellationToken = default
    )
    {
        var options = new BlobOpenReadOptions(allowModifications: false)
        {
            Position = offset,
            Conditions = new BlobRequestConditions { IfMatch = new ETag(ifMatch) },
        };
        try
        {
            return new Core.Sharding.BoundedStream(
                await Blob(name).OpenReadAsync(options, cancellationToken).ConfigureAwait(false),
                length,
                leaveOpen: false
            );
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new BlobNotFoundException(name);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            // A condition on a blob that is gone fails too (Azurite answers 412 where Azure may answer 404).
            throw await GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false) is null
                ? new BlobNotFoundException(name)
                : new BlobChangedException(name);
        }
    }

    public async Task<Core.Storage.BlobProperties> WriteAsync(
        string name,
        Func<Stream, CancellationToken, Task> write,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default
    )
    {
        BlobClient target = Blob(name);
        BlobContainerClient container = target.GetParentBlobContainerClient();
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        BlockBlobClient blob = container.GetBlockBlobClient(target.Name);
        // Blocks are staged as they are written and committed together only once the writer has finished: readers see
        // the old blob or the new one, and a writer that fails leaves the old one (the SDK's write stream commits
        // whatever was written when it is closed, even by an exception).
        await using var stream = new BlockStagingStream(blob);
        await write(stream, cancellationToken).ConfigureAwait(false);
        await stream.CommitAsync(metadata, cancellationToken).ConfigureAwait(false);
        return (await GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<Core.Storage.BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            Azure.Storage.Blobs.Models.BlobProperties p = (
                await Blob(name).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)
            ).Value;
            return new Core.Storage.BlobProperties(name, p.ContentLength, p.ETag.ToString("H"), p.LastModified, p.Metadata.AsReadOnly());
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<Core.Storage.BlobProperties> ListAsync(
        string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default
    )
    {
        string container = Container(prefix);
        BlobContainerClient client = service.GetBlobContainerClient(container);
        string inside = prefix.Length > container.Length ? prefix[(container.Length + 1)..] : "";
        if (!await client.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            yield break; // nothing was ever written there
        }

        await foreach (
            BlobItem item in client
                .GetBlobsAsync(new GetBlobsOptions { Prefix = inside, Traits = BlobTraits.Metadata }, cancellationToken)
                .ConfigureAwait(false)
        )
        {
            yield return new Core.Storage.BlobProperties(
                $"{container}/{item.Name}",
                item.Properties.ContentLength ?? 0,
                item.Properties.ETag?.ToString("H") ?? "",
                item.Properties.LastModified ?? DateTimeOffset.MinValue,
                item.Metadata.AsReadOnly()
            );
        }
    }

    private BlobClient Blob(string name)
    {
        BlobNames.Validate(name);
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
            throw new ArgumentException($"'{name}' names no blob inside a container (container/path).", nameof(name));
        return service.GetBlobContainerClient(name[..slash]).GetBlobClient(name[(slash + 1)..]);
    }

    private static string Container(string name)
    {
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? name : name[..slash];
    }
}

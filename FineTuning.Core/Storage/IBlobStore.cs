namespace FineTuning.Core.Storage;

/// <summary>What a blob store says of one blob: its size, an ETag that changes with every write, and metadata.</summary>
public sealed record BlobProperties(
    string Name,
    long Size,
    string ETag,
    DateTimeOffset LastModified,
    IReadOnlyDictionary<string, string> Metadata
);

/// <summary>A blob that does not exist; the message names it.</summary>
public sealed class BlobNotFoundException(string name) : Exception($"Blob '{name}' does not exist.")
{
    public string BlobName { get; } = name;
}

/// <summary>A blob was replaced while a run read it in parts; the message says what to do.</summary>
public sealed class BlobChangedException(string name)
    : Exception($"Blob '{name}' changed while the run was reading it; start the run again on the new content.")
{
    public string BlobName { get; } = name;
}

/// <summary>
/// Blobs by name (<c>container/path/to/blob</c>, forward slashes): streamed reads, streamed writes that replace the
/// blob whole (readers never see half of one), properties, and listing by prefix. Azure Blob Storage in Azure, the
/// file system on one machine.
/// </summary>
public interface IBlobStore
{
    /// <summary>Opens a blob for reading; <see cref="BlobNotFoundException"/> when it does not exist.</summary>
    Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens <paramref name="length"/> bytes of a blob from <paramref name="offset"/> (a shard of a dataset), failing
    /// with <see cref="BlobChangedException"/> when the blob's ETag is no longer <paramref name="ifMatch"/>.
    /// </summary>
    Task<Stream> OpenReadRangeAsync(string name, long offset, long length, string ifMatch, CancellationToken cancellationToken = default);

    /// <summary>Writes a blob through <paramref name="write"/>, replacing any blob of that name only once it is complete.</summary>
    Task<BlobProperties> WriteAsync(
        string name,
        Func<Stream, CancellationToken, Task> write,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default
    );

    /// <summary>The blob's properties, or null when it does not exist.</summary>
    Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Blobs whose names start with <paramref name="prefix"/>, in name order.</summary>
    IAsyncEnumerable<BlobProperties> ListAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>Rules for blob names shared by every store.</summary>
public static class BlobNames
{
    /// <summary>
    /// Describes what is wrong with a name, or null: segments of letters, digits and <c>-_.@=+</c>, no <c>..</c>, no
    /// leading slash.
    /// </summary>
    public static string? Problem(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 1024)
            return "a blob name must have 1 to 1,024 characters";
        string[] segments = name.Split('/');
        foreach (string segment in segments)
        {
            if (segment.Length == 0)
                return $"'{name}' has an empty path segment (a leading, trailing or double slash)";
            if (segment is "." or "..")
                return $"'{name}' may not contain '.' or '..' segments";
            if (segment.StartsWith('.'))
                return $"'{name}': segments may not start with '.' (reserved for the store's own files)";
            if (segment.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@' or '=' or '+' or ' ')))
                return $"'{name}' has a character outside letters, digits and -_.@=+ and space";
        }

        return null;
    }

    public static void Validate(string name)
    {
        if (Problem(name) is { } problem)
            throw new ArgumentException(problem, nameof(name));
    }
}

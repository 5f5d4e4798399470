using System.Globalization;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Storage;

namespace FineTuning.Local.Storage;

/// <summary>
/// Blobs as files under a root folder (<c>&lt;data&gt;/blobs</c>): a write goes to a temporary file in the same folder
/// and is renamed over the blob, so readers see the old blob or the new one, never half. Metadata lives beside the
/// content in a hidden <c>.name.meta.json</c> file.
/// </summary>
public sealed partial class FileSystemBlobStore(string root) : IBlobStore
{
    private readonly string _root = Path.GetFullPath(root);

    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        string path = PathOf(name);
        try
        {
            return Task.FromResult<Stream>(
                new FileStream(
                    path,
                    FileMode.Open,
                    FileAccess.Read,
                    FileShare.Read | FileShare.Delete,
                    1 << 16,
                    FileOptions.Asynchronous | FileOptions.SequentialScan
                )
            );
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(name);
        }
    }

    public Task<Stream> OpenReadRangeAsync(
        string name,
        long offset,
        long length,
        string ifMatch,
        CancellationToken cancellationToken = default
    )
    {
        string path = PathOf(name);
        FileStream stream;
        try
        {
            stream = new FileStream(
                path,
                FileMode.Open,
                FileAccess.Read,
                FileShare.Read | FileShare.Delete,
                1 << 16,
                FileOptions.Asynchronous | FileOptions.SequentialScan
            );
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BlobNotFoundException(name);
        }

        // Checked once the file is open: a write replaces the file by rename, so the open handle keeps the content checked.
        if (Properties(name, path)?.ETag != ifMatch || offset + length > stream.Length)
        {
            stream.Dispose();
            throw new BlobChangedException(name);
        }

        stream.Seek(offset, SeekOrigin.Begin);
        return Task.FromResult<Stream>(new Core.Sharding.BoundedStream(stream, length, leaveOpen: false));
    }

    public async Task<BlobProperties> WriteAsync(
        string name,
        Func<Stream, CancellationToken, Task> write,
        IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default
    )
    {
        string path = PathOf(name);
        string dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}{TempSuffix}");
        string metaTemp = temp + ".meta";
        try
        {
            await using (
                var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous)
            )
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await File.WriteAllTextAsync(
                    metaTemp,
                    JsonSerializer.Serialize(metadata ?? new Dictionary<string, string>(), CoreJsonContext.Default.DictionaryStringString),
                    cancellationToken
                )
                .ConfigureAwait(false);

            // Content first, then its metadata: a process killed between the two leaves new content with the old
            // metadata (a dataset copy is then made again), never metadata that vouches for content it does not have.
            File.Move(temp, path, overwrite: true);
            File.Move(metaTemp, MetaPath(path), overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            File.Delete(metaTemp);
            throw;
        }

        return Properties(name, path)!;
    }

    public Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(Properties(name, PathOf(name)));

    public async IAsyncEnumerable<BlobProperties> ListAsync(
        string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default
    )
    {
        if (!Directory.Exists(_root))
        {
            yield break;
        }

        IEnumerable<string> names = Directory
            .EnumerateFiles(_root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(_root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && BlobNames.Problem(n) is null)
            .Order(StringComparer.Ordinal);
        foreach (string name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Properties(name, PathOf(name)) is { } properties)
            {
                yield return properties;
            }

            await Task.Yield();
        }
    }

    /// <summary>
    /// Deletes the temporary files of writes a killed process never finished; call it only while no write is under way
    /// (the local host does, at start, holding the data directory's lock). Returns how many it deleted.
    /// </summary>
    public int RemoveAbandonedWrites()
    {
        if (!Directory.Exists(_root))
        {
            return 0;
        }

        int removed = 0;
        foreach (string file in Directory.EnumerateFiles(_root, ".*" + TempSuffix + "*", SearchOption.AllDirectories))
        {
            if (AbandonedWrite().IsMatch(Path.GetFileName(file)))
            {
                File.Delete(file);
                removed++;
            }
        }

        return removed;
    }

    private const string TempSuffix = ".tmp";

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp(\.meta)?$")]
    private static partial System.Text.RegularExpressions.Regex AbandonedWrite();

    private string PathOf(string name)
    {
        BlobNames.Validate(name);
        return Path.Combine(_root, name.Replace('/', Path.DirectorySeparatorChar));
    }

    private static string MetaPath(string path) => Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.meta.json");

    private static BlobProperties? Properties(string name, string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        Dictionary<string, string> metadata = [];
        try
        {
            metadata = JsonSerializer.Deserialize(File.ReadAllText(MetaPath(path)), CoreJsonContext.Default.DictionaryStringString) ?? [];
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            // A blob dropped into the folder by hand has no metadata.
        }

        // The ETag changes with every write: the file's identity (size, change time) hashed.
        string stamp = string.Create(
            CultureInfo.InvariantCulture,
            $"{info.Length}:{info.LastWriteTimeUtc.Ticks}:{info.CreationTimeUtc.Ticks}"
        );
        string etag = $"\"0x{XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(stamp)):X16}\"";
        return new BlobProperties(name, info.Length, etag, info.LastWriteTimeUtc, metadata);
    }
}

using System.Security.Cryptography;

namespace FineTuning.Local.Storage;

/// <summary>The SHA-256 of a file's content (lower-case hex), read while others may still write or delete it.</summary>
internal static class FileHash
{
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(
            path,
            FileMode.Open,
            FileAccess.Read,
            FileShare.ReadWrite | FileShare.Delete,
            1 << 16,
            FileOptions.Asynchronous | FileOptions.SequentialScan
        );
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }
}

using System.Buffers;
using System.Diagnostics;
using System.IO.Hashing;
using System.Text.Json;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Splitting;

/// <summary>
/// <c>split-manifest.json</c>: written last, after <c>train.jsonl</c>, <c>valid.jsonl</c> and <c>split-report.json</c>,
/// with each file's size and XXH128 hash (a check of completeness, not of trust: it costs 0.03 s on 250 MiB where
/// SHA-256 took 0.25 s and slowed the split by a quarter). The three files are replaced one by one, so a split killed
/// midway can leave a new file beside an old one: the manifest is removed before the first is written, so a folder
/// without it (or whose files do not match it) holds no complete split. Temporary files of killed attempts are removed when a split starts.
/// </summary>
public static class SplitManifest
{
    public const string FileName = "split-manifest.json";

    /// <summary>The files of a complete split, in the order they are written (<c>test.jsonl</c> when a test share is held out).</summary>
    public static IReadOnlyList<string> Files { get; } = ["train.jsonl", "valid.jsonl", "test.jsonl", "split-report.json"];

    /// <summary>Before a split writes into <paramref name="outDir"/>: the old set is no longer complete, and leftovers go.</summary>
    public static void BeginWriting(string outDir)
    {
        File.Delete(Path.Combine(outDir, FileName));
        foreach (string leftover in Directory.EnumerateFiles(outDir, ".*.tmp"))
        {
            // AtomicFile's temporary files are named .{file}.{pid}.{guid}.tmp: those of a process that is gone are leftovers.
            string[] parts = Path.GetFileName(leftover).Split('.');
            if (
                parts.Length >= 4
                && int.TryParse(parts[^3], out int pid)
                && !IsRunning(pid)
                && Files.Any(f => leftover.Contains("." + f + ".", StringComparison.Ordinal))
            )
            {
                File.Delete(leftover);
            }
        }
    }

    /// <summary>Writes the manifest of the files now in <paramref name="outDir"/> (hashed two at a time).</summary>
    public static void Write(string outDir, bool withTest = false)
    {
        string[] files = [.. Files.Where(f => withTest || f != "test.jsonl")];
        var entries = new SplitFile[files.Length];
        Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            string path = Path.Combine(outDir, files[i]);
            entries[i] = new SplitFile(files[i], new FileInfo(path).Length, Hash(path));
        });
        AtomicFile.WriteAllText(
            Path.Combine(outDir, FileName),
            JsonSerializer.Serialize(entries, SplitManifestJson.Default.SplitFileArray)
        );
    }

    /// <summary>True when <paramref name="outDir"/> holds a complete split: a manifest, and every file as it says.</summary>
    public static bool IsComplete(string outDir)
    {
        string manifest = Path.Combine(outDir, FileName);
        if (!File.Exists(manifest))
        {
            return false;
        }

        SplitFile[]? entries = JsonSerializer.Deserialize(File.ReadAllText(manifest), SplitManifestJson.Default.SplitFileArray);
        return entries is { Length: > 0 }
            && entries.All(e =>
            {
                string path = Path.Combine(outDir, e.Name);
                if (!File.Exists(path) || new FileInfo(path).Length != e.Bytes)
                {
                    return false;
                }

                return Hash(path) == e.Xxh128;
            });
    }

    private static string Hash(string path)
    {
        var hash = new XxHash128();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var file = new FileStream(
                path,
                FileMode.Open,
                FileAccess.Read,
                FileShare.Read,
                bufferSize: 1,
                FileOptions.SequentialScan
            );
            for (int read; (read = file.Read(buffer)) > 0; )
            {
                hash.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

/// <summary>One file of a split: its name, size and XXH128 hash (hex).</summary>
public sealed record SplitFile(string Name, long Bytes, string Xxh128);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true
)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SplitFile[]))]
internal sealed partial class SplitManifestJson : System.Text.Json.Serialization.JsonSerializerContext;

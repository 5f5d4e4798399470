using FineTuning.Core.Datasets;
using FineTuning.Core.Splitting;

namespace FineTuning.Tests.Splitting;

/// <summary>A split folder tells a complete set from a mixed one, and a new split clears what killed ones left.</summary>
public class SplitManifestTests
{
    private static string SplitInto(TempDir dir, string outDir, int rows = 40)
    {
        string path = dir.Write($"data-{rows}.jsonl", Rows.Jsonl(Rows.ManyChats(rows, i => i % 2 == 0 ? "billing" : "shipping")));
        Assert.NotNull(new StratifiedSplitter(new ValidationOptions(), new SplitOptions()).Split(path, outDir).Split);
        return outDir;
    }

    [Fact]
    public void Split_WritesTheManifestLast_WithEveryFilesSizeAndHash()
    {
        using var dir = new TempDir();

        string outDir = SplitInto(dir, dir.File("out"));

        Assert.True(SplitManifest.IsComplete(outDir));
        string manifest = File.ReadAllText(Path.Combine(outDir, SplitManifest.FileName));
        foreach (string file in SplitManifest.Files.Where(f => f != "test.jsonl")) // a split without a test share
        {
            Assert.Contains($"\"name\": \"{file}\"", manifest, StringComparison.Ordinal);
        }

        Assert.True(
            File.GetLastWriteTimeUtc(Path.Combine(outDir, SplitManifest.FileName))
                >= File.GetLastWriteTimeUtc(Path.Combine(outDir, "train.jsonl"))
        );
    }

    [Fact]
    public void AMixedSet_IsNotComplete()
    {
        using var dir = new TempDir();
        string outDir = SplitInto(dir, dir.File("out"));
        string otherDir = SplitInto(dir, dir.File("other"), rows: 60);

        // What a split killed between its renames leaves: the new valid.jsonl beside the old train.jsonl.
        File.Copy(Path.Combine(otherDir, "valid.jsonl"), Path.Combine(outDir, "valid.jsonl"), overwrite: true);

        Assert.False(SplitManifest.IsComplete(outDir));
    }

    [Fact]
    public void ASplitStarting_RemovesTheManifestFirst_AndTheTemporaryFilesOfKilledAttempts()
    {
        using var dir = new TempDir();
        string outDir = SplitInto(dir, dir.File("out"));
        string killed = Path.Combine(outDir, $".train.jsonl.{int.MaxValue - 1}.0123456789abcdef.tmp");
        string live = Path.Combine(outDir, $".train.jsonl.{Environment.ProcessId}.0123456789abcdef.tmp");
        File.WriteAllText(killed, "half of a file");
        File.WriteAllText(live, "a split of this process, still writing");

        SplitManifest.BeginWriting(outDir);

        Assert.False(SplitManifest.IsComplete(outDir));
        Assert.False(File.Exists(killed));
        Assert.True(File.Exists(live));
        SplitInto(dir, outDir);
        Assert.True(SplitManifest.IsComplete(outDir));
    }
}

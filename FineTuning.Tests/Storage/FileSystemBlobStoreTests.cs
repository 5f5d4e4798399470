using FineTuning.Core.Storage;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Storage;

/// <summary>The local folder store: the blob store contract, and what only a folder has (temporary files).</summary>
public sealed class FileSystemBlobStoreTests : BlobStoreContract, IDisposable
{
    private readonly TempDir _dir = new();

    public FileSystemBlobStoreTests() => Store = new FileSystemBlobStore(_dir.File("blobs"));

    protected override IBlobStore Store { get; }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Overwrite_LeavesNoTemporaryFiles()
    {
        await Store.WriteAsync("datasets/a.jsonl", Text("one\n"));
        await Store.WriteAsync("datasets/a.jsonl", Text("two, longer\n"));

        Assert.Equal(["a.jsonl"], Directory.GetFiles(_dir.File("blobs/datasets")).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
        Assert.DoesNotContain(Directory.GetFiles(_dir.File("blobs/datasets")), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailedWrite_LeavesNoTemporaryFiles_NorAnEscapedFile()
    {
        await Store.WriteAsync("runs/r/split/train.jsonl", Text("old\n"));
        await Assert.ThrowsAsync<IOException>(() => Store.WriteAsync("runs/r/split/train.jsonl", (_, _) => throw new IOException("died")));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync("../escape.jsonl", Text("x")));

        Assert.DoesNotContain(Directory.GetFiles(_dir.File("blobs/runs/r/split")), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.False(File.Exists(_dir.File("escape.jsonl")));
    }

    [Fact]
    public async Task RemoveAbandonedWrites_DeletesOnlyTheTemporaryFilesOfUnfinishedWrites()
    {
        var store = (FileSystemBlobStore)Store;
        await store.WriteAsync("datasets/keep.tmp.jsonl", Text("{}\n"));
        string folder = _dir.File("blobs/datasets");
        File.WriteAllText(Path.Combine(folder, $".split.jsonl.{Guid.NewGuid():N}.tmp"), "half");
        File.WriteAllText(Path.Combine(folder, $".split.jsonl.{Guid.NewGuid():N}.tmp.meta"), "{");

        Assert.Equal(2, store.RemoveAbandonedWrites());
        Assert.Equal("{}\n", await ReadAll("datasets/keep.tmp.jsonl"));
        Assert.Equal(
            ["keep.tmp.jsonl", ".keep.tmp.jsonl.meta.json"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).Reverse()
        );
    }
}

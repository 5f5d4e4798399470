using System.Text;
using FineTuning.Core.Storage;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Storage;

public class FileSystemBlobStoreTests
{
    private static Func<Stream, CancellationToken, Task> Text(string text) => (stream, ct) => stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct).AsTask();

    private static async Task<string> ReadAll(IBlobStore store, string name)
    {
        await using Stream stream = await store.OpenReadAsync(name);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Write_ThenReadPropertiesAndList()
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));

        BlobProperties written = await store.WriteAsync("runs/r1/shards/00000.jsonl", Text("{}\n"), new Dictionary<string, string> { ["firstLine"] = "1" });
        await store.WriteAsync("runs/r1/shards/00001.jsonl", Text("{}\n{}\n"));
        await store.WriteAsync("runs/r2/reports/validation.json", Text("{}"));

        Assert.Equal("{}\n", await ReadAll(store, "runs/r1/shards/00000.jsonl"));
        BlobProperties? properties = await store.GetPropertiesAsync("runs/r1/shards/00000.jsonl");
        Assert.Equal(3, properties!.Size);
        Assert.Equal(written.ETag, properties.ETag);
        Assert.Equal("1", properties.Metadata["firstLine"]);
        Assert.Equal(["runs/r1/shards/00000.jsonl", "runs/r1/shards/00001.jsonl"], await store.ListAsync("runs/r1/").Select(b => b.Name).ToListAsync());
    }

    [Fact]
    public async Task Overwrite_ChangesTheETagAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));
        BlobProperties first = await store.WriteAsync("datasets/a.jsonl", Text("one\n"));

        BlobProperties second = await store.WriteAsync("datasets/a.jsonl", Text("two, longer\n"));

        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal("two, longer\n", await ReadAll(store, "datasets/a.jsonl"));
        Assert.Equal(["a.jsonl"], Directory.GetFiles(dir.File("blobs/datasets")).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
        Assert.DoesNotContain(Directory.GetFiles(dir.File("blobs/datasets")), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailedWrite_KeepsTheOldBlobWhole()
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));
        await store.WriteAsync("runs/r/split/train.jsonl", Text("old\n"));

        await Assert.ThrowsAsync<IOException>(() => store.WriteAsync("runs/r/split/train.jsonl", async (stream, ct) =>
        {
            await stream.WriteAsync("half of the new"u8.ToArray(), ct);
            throw new IOException("the process died half-way");
        }));

        Assert.Equal("old\n", await ReadAll(store, "runs/r/split/train.jsonl"));
        Assert.DoesNotContain(Directory.GetFiles(dir.File("blobs/runs/r/split")), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("../escape.jsonl")]
    [InlineData("/absolute.jsonl")]
    [InlineData("runs//double")]
    [InlineData("runs/.hidden")]
    [InlineData("")]
    public async Task BadNames_AreRejectedWithTheReason(string name)
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));

        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync(name, Text("x")));

        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        Assert.False(File.Exists(dir.File("escape.jsonl")));
    }

    [Fact]
    public async Task MissingBlob_HasNoPropertiesAndCannotBeOpened()
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));

        Assert.Null(await store.GetPropertiesAsync("datasets/none.jsonl"));
        BlobNotFoundException ex = await Assert.ThrowsAsync<BlobNotFoundException>(() => store.OpenReadAsync("datasets/none.jsonl"));
        Assert.Equal("datasets/none.jsonl", ex.BlobName);
        Assert.Empty(await store.ListAsync("datasets/").ToListAsync());
    }

    [Fact]
    public async Task RangeRead_GivesExactlyTheRange_AndNoticesAReplacedBlob()
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));
        BlobProperties first = await store.WriteAsync("datasets/d.jsonl", Text("line1\nline2\nline3\n"));

        await using (Stream range = await store.OpenReadRangeAsync("datasets/d.jsonl", 6, 6, first.ETag))
        {
            Assert.Equal("line2\n", await new StreamReader(range).ReadToEndAsync());
        }

        await Task.Delay(20);
        await store.WriteAsync("datasets/d.jsonl", Text("other\ncontent\n"));
        BlobChangedException changed = await Assert.ThrowsAsync<BlobChangedException>(() => store.OpenReadRangeAsync("datasets/d.jsonl", 6, 6, first.ETag));
        Assert.Contains("start the run again", changed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.OpenReadRangeAsync("datasets/none.jsonl", 0, 1, first.ETag));
    }

    [Fact]
    public async Task RemoveAbandonedWrites_DeletesOnlyTheTemporaryFilesOfUnfinishedWrites()
    {
        using var dir = new TempDir();
        var store = new FileSystemBlobStore(dir.File("blobs"));
        await store.WriteAsync("datasets/keep.tmp.jsonl", Text("{}\n"));
        string folder = dir.File("blobs/datasets");
        File.WriteAllText(Path.Combine(folder, $".split.jsonl.{Guid.NewGuid():N}.tmp"), "half");
        File.WriteAllText(Path.Combine(folder, $".split.jsonl.{Guid.NewGuid():N}.tmp.meta"), "{");

        Assert.Equal(2, store.RemoveAbandonedWrites());
        Assert.Equal("{}\n", await ReadAll(store, "datasets/keep.tmp.jsonl"));
        Assert.Equal(["keep.tmp.jsonl", ".keep.tmp.jsonl.meta.json"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).Reverse());
    }
}

using System.Text;
using FineTuning.Core.Storage;

namespace FineTuning.Tests.Storage;

/// <summary>
/// What every <see cref="IBlobStore"/> must do, run against each one: the local folder store and the Azure one
/// (on Azurite). Blob names start with <see cref="Datasets"/> or <see cref="Runs"/>, the containers of a real run,
/// which a store's tests may make unique so that tests sharing one service do not see each other's blobs.
/// </summary>
public abstract class BlobStoreContract
{
    protected abstract IBlobStore Store { get; }

    protected virtual string Datasets => "datasets";

    protected virtual string Runs => "runs";

    protected static Func<Stream, CancellationToken, Task> Text(string text) =>
        (stream, ct) => stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct).AsTask();

    protected async Task<string> ReadAll(string name)
    {
        await using Stream stream = await Store.OpenReadAsync(name);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Write_ThenReadPropertiesAndList()
    {
        BlobProperties written = await Store.WriteAsync(
            $"{Runs}/r1/shards/00000.jsonl",
            Text("{}\n"),
            new Dictionary<string, string> { ["firstLine"] = "1" }
        );
        await Store.WriteAsync($"{Runs}/r1/shards/00001.jsonl", Text("{}\n{}\n"));
        await Store.WriteAsync($"{Runs}/r2/reports/validation.json", Text("{}"));

        Assert.Equal("{}\n", await ReadAll($"{Runs}/r1/shards/00000.jsonl"));
        BlobProperties? properties = await Store.GetPropertiesAsync($"{Runs}/r1/shards/00000.jsonl");
        Assert.Equal(3, properties!.Size);
        Assert.Equal(written.ETag, properties.ETag);
        Assert.Equal("1", properties.Metadata["firstLine"]);
        List<BlobProperties> listed = await Store.ListAsync($"{Runs}/r1/").ToListAsync();
        Assert.Equal([$"{Runs}/r1/shards/00000.jsonl", $"{Runs}/r1/shards/00001.jsonl"], listed.Select(b => b.Name));
        Assert.Equal([3L, 6L], listed.Select(b => b.Size));
        Assert.Equal("1", listed[0].Metadata["firstLine"]);
        Assert.Equal(written.ETag, listed[0].ETag);
    }

    [Fact]
    public async Task Overwrite_ChangesTheETag()
    {
        BlobProperties first = await Store.WriteAsync($"{Datasets}/a.jsonl", Text("one\n"));

        BlobProperties second = await Store.WriteAsync($"{Datasets}/a.jsonl", Text("two, longer\n"));

        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal(12, second.Size);
        Assert.Equal("two, longer\n", await ReadAll($"{Datasets}/a.jsonl"));
    }

    [Fact]
    public async Task FailedWrite_KeepsTheOldBlobWhole()
    {
        await Store.WriteAsync($"{Runs}/r/split/train.jsonl", Text("old\n"));

        await Assert.ThrowsAsync<IOException>(() => Store.WriteAsync($"{Runs}/r/split/train.jsonl", async (stream, ct) =>
            {
                await stream.WriteAsync("half of the new"u8.ToArray(), ct);
                throw new IOException("the process died half-way");
            }));

        Assert.Equal("old\n", await ReadAll($"{Runs}/r/split/train.jsonl"));
        Assert.Equal(4, (await Store.GetPropertiesAsync($"{Runs}/r/split/train.jsonl"))!.Size);
    }

    [Fact]
    public async Task FailedFirstWrite_LeavesNoBlob()
    {
        await Assert.ThrowsAsync<IOException>(() => Store.WriteAsync($"{Runs}/r/split/valid.jsonl", async (stream, ct) =>
            {
                await stream.WriteAsync("half"u8.ToArray(), ct);
                throw new IOException("the process died half-way");
            }));

        Assert.Null(await Store.GetPropertiesAsync($"{Runs}/r/split/valid.jsonl"));
    }

    [Theory]
    [InlineData("../escape.jsonl")]
    [InlineData("/absolute.jsonl")]
    [InlineData("runs//double")]
    [InlineData("runs/.hidden")]
    [InlineData("")]
    public async Task BadNames_AreRejectedWithTheReason(string name)
    {
        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync(name, Text("x")));

        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public async Task MissingBlob_HasNoPropertiesAndCannotBeOpened()
    {
        Assert.Null(await Store.GetPropertiesAsync($"{Datasets}/none.jsonl"));
        BlobNotFoundException ex = await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadAsync($"{Datasets}/none.jsonl"));
        Assert.Equal($"{Datasets}/none.jsonl", ex.BlobName);
        Assert.Empty(await Store.ListAsync($"{Datasets}/").ToListAsync());
    }

    [Fact]
    public async Task RangeRead_GivesExactlyTheRange_AndNoticesAReplacedBlob()
    {
        BlobProperties first = await Store.WriteAsync($"{Datasets}/d.jsonl", Text("line1\nline2\nline3\n"));

        await using (Stream range = await Store.OpenReadRangeAsync($"{Datasets}/d.jsonl", 6, 6, first.ETag))
        {
            Assert.Equal("line2\n", await new StreamReader(range).ReadToEndAsync());
        }

        await using (Stream tail = await Store.OpenReadRangeAsync($"{Datasets}/d.jsonl", 12, 6, first.ETag))
        {
            Assert.Equal("line3\n", await new StreamReader(tail).ReadToEndAsync());
        }

        await Task.Delay(20);
        await Store.WriteAsync($"{Datasets}/d.jsonl", Text("other\ncontent\n"));
        BlobChangedException changed = await Assert.ThrowsAsync<BlobChangedException>(() =>
            Store.OpenReadRangeAsync($"{Datasets}/d.jsonl", 6, 6, first.ETag)
        );
        Assert.Contains("start the run again", changed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<BlobNotFoundException>(() => Store.OpenReadRangeAsync($"{Datasets}/none.jsonl", 0, 1, first.ETag));
    }

    [Fact]
    public async Task LargeBlob_RoundTripsByteForByte()
    {
        byte[] content = new byte[9 * 1024 * 1024 + 17];
        new Random(7).NextBytes(content);

        BlobProperties written = await Store.WriteAsync($"{Datasets}/big.jsonl", async (stream, ct) =>
        {
            for (int offset = 0; offset < content.Length; offset += 1 << 20)
            {
                await stream.WriteAsync(content.AsMemory(offset, Math.Min(1 << 20, content.Length - offset)), ct);
            }
        });

        Assert.Equal(content.Length, written.Size);
        await using Stream read = await Store.OpenReadAsync($"{Datasets}/big.jsonl");
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
        await using Stream range = await Store.OpenReadRangeAsync($"{Datasets}/big.jsonl", 5_000_000, 4_000_000, written.ETag);
        using var part = new MemoryStream();
        await range.CopyToAsync(part);
        Assert.Equal(content.AsSpan(5_000_000, 4_000_000).ToArray(), part.ToArray());
    }
}

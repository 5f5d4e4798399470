using System.Text;
using FineTuning.Core.Sharding;

namespace FineTuning.Tests.Datasets;

public class ShardPlannerTests
{
    private static readonly byte[] Data = Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(500)));

    [Fact]
    public async Task SplitAsync_CutsAtLineBreaksNearTheTarget_AndLosesNothing()
    {
        var pieces = new List<(Shard Shard, byte[] Bytes)>();

        IReadOnlyList<Shard> shards = await ShardPlanner.SplitAsync(new MemoryStream(Data), 4096, (shard, bytes, ct) =>
        {
            pieces.Add((shard, bytes.ToArray()));
            return Task.CompletedTask;
        });

        Assert.Equal(Data, pieces.SelectMany(p => p.Bytes).ToArray());
        Assert.Equal(shards, pieces.Select(p => p.Shard));
        Assert.All(pieces.SkipLast(1), p => Assert.True(p.Bytes.Length >= 4096 && p.Bytes[^1] == '\n'));
        long line = 1;
        foreach ((Shard shard, byte[] bytes) in pieces)
        {
            Assert.Equal(line, shard.FirstLine);
            line += bytes.Count(b => b == '\n');
        }
    }

    [Fact]
    public async Task PlanFile_AgreesWithSplitAsync()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Data);

        IReadOnlyList<Shard> planned = ShardPlanner.PlanFile(path, 4096);
        IReadOnlyList<Shard> split = await ShardPlanner.SplitAsync(new MemoryStream(Data), 4096, (_, _, _) => Task.CompletedTask);

        Assert.Equal(split, planned);
        Assert.Equal("00003.jsonl", planned[3].FileName);
    }
}

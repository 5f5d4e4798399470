namespace FineTuning.Core.Sharding;

/// <summary>A run of whole lines of a dataset: where it starts, how long it is, and the number of its first line.</summary>
public sealed record Shard(int Index, long Offset, long Length, long FirstLine)
{
    /// <summary>The shard's blob name under a run, e.g. <c>00003.jsonl</c>.</summary>
    public string FileName => $"{Index:D5}.jsonl";
}

/// <summary>Cuts JSONL into shards at line breaks, each near a target size, each knowing its first line number.</summary>
public static class ShardPlanner
{
    public const long DefaultShardBytes = 16L * 1024 * 1024;

    /// <summary>Plans the shards of a file by seeking to each target size and finding the next line break.</summary>
    public static IReadOnlyList<Shard> PlanFile(string path, long shardBytes = DefaultShardBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return Plan(stream, shardBytes);
    }

    /// <summary>Plans the shards of a seekable stream; only the bytes between cut points are read (to count lines).</summary>
    public static IReadOnlyList<Shard> Plan(Stream stream, long shardBytes = DefaultShardBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardBytes, 1);
        long length = stream.Length;
        var shards = new List<Shard>();
        long offset = 0,
            line = 1;
        byte[] buffer = new byte[1 << 20];
        while (offset < length)
        {
            long target = Math.Min(length, offset + shardBytes);
            long end = target >= length ? length : NextLineStart(stream, target, buffer);
            shards.Add(new Shard(shards.Count, offset, end - offset, line));
            line += CountLines(stream, offset, end, buffer);
            offset = end;
        }

        return shards;
    }

    /// <summary>
    /// Cuts a stream into shards by reading it once, handing each shard's bytes (in order) to <paramref
    /// name="writeShard"/>.
    /// </summary>
    public static async Task<IReadOnlyList<Shard>> SplitAsync(
        Stream source,
        long shardBytes,
        Func<Shard, ReadOnlyMemory<byte>, CancellationToken, Task> writeShard,
        CancellationToken cancellationToken = default
    )
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardBytes, 1);
        var shards = new List<Shard>();
        byte[] buffer = new byte[1 << 20];
        long offset = 0,
            line = 1;
        var pending = new MemoryStream();
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            int start = 0;
            while (start < read)
            {
                long room = shardBytes - pending.Length;
                if (room > 0)
                {
                    int take = (int)Math.Min(room, read - start);
                    pending.Write(buffer, start, take);
                    start += take;
                    if (pending.Length == shardBytes && buffer[start - 1] == (byte)'\n')
                    {
                        // A line ends exactly at the target: cut here, as PlanFile does.
                        (offset, line) = await FlushAsync(pending, shards, offset, line, writeShard, cancellationToken)
                            .ConfigureAwait(false);
                    }

                    continue;
                }

                // Past the target: cut at the next line break.
                int newline = buffer.AsSpan(start, read - start).IndexOf((byte)'\n');
                int upTo = newline < 0 ? read : start + newline + 1;
                pending.Write(buffer, start, upTo - start);
                start = upTo;
                if (newline >= 0)
                {
                    (offset, line) = await FlushAsync(pending, shards, offset, line, writeShard, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        if (pending.Length > 0)
        {
            await FlushAsync(pending, shards, offset, line, writeShard, cancellationToken).ConfigureAwait(false);
        }

        return shards;
    }

    private static async Task<(long Offset, long Line)> FlushAsync(
        MemoryStream pending,
        List<Shard> shards,
        long offset,
        long line,
        Func<Shard, ReadOnlyMemory<byte>, CancellationToken, Task> writeShard,
        CancellationToken cancellationToken
    )
    {
        var shard = new Shard(shards.Count, offset, pending.Length, line);
        shards.Add(shard);
        var bytes = new ReadOnlyMemory<byte>(pending.GetBuffer(), 0, (int)pending.Length);
        long lines = bytes.Span.Count((byte)'\n');
        await writeShard(shard, bytes, cancellationToken).ConfigureAwait(false);
        long next = offset + pending.Length;
        pending.SetLength(0);
        return (next, line + lines);
    }

    private static long NextLineStart(Stream stream, long from, byte[] buffer)
    {
        // The cut goes after the first line break at or after `from - 1`, so a line ending exactly at the target stays whole.
        stream.Position = from - 1;
        long position = from - 1;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            int newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return position + newline + 1;
            }

            position += read;
        }

        return position;
    }

    private static long CountLines(Stream stream, long from, long to, byte[] buffer)
    {
        stream.Position = from;
        long remaining = to - from,
            count = 0;
        while (remaining > 0)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (read == 0)
                break;
            count += buffer.AsSpan(0, read).Count((byte)'\n');
            remaining -= read;
        }

        return count;
    }
}

/// <summary>
/// A read-only window of <paramref name="length"/> bytes over a stream from its current position (disposing the stream
/// with it unless <paramref name="leaveOpen"/>).
/// </summary>
public sealed class BoundedStream(Stream inner, long length, bool leaveOpen = true) : Stream
{
    private readonly long _length = length;
    private long _remaining = length;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _length - _remaining;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0)
            return 0;
        int read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining <= 0)
            return 0;
        int read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        _remaining -= read;
        return read;
    }

    public override void Flush() { }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

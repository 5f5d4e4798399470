using System.Buffers;
using System.Globalization;
using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace FineTuning.Functions.Storage;

/// <summary>
/// A write-only stream that stages what is written as blocks of a block blob (4 MiB each) and commits them only when
/// asked: until <see cref="CommitAsync"/>, the blob keeps its old content (staged blocks that are never committed are
/// discarded by the service after a week).
/// </summary>
internal sealed class BlockStagingStream(BlockBlobClient blob) : Stream
{
    private const int BlockBytes = 4 * 1024 * 1024;
    private readonly List<string> _blocks = [];
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
    private int _filled;
    private long _length;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => _buffer is not null;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        while (!source.IsEmpty)
        {
            int n = Math.Min(source.Length, BlockBytes - _filled);
            source.Span[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            _length += n;
            source = source[n..];
            if (_filled == BlockBytes)
            {
                await StageAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stages what is left and commits every block, with <paramref name="metadata"/>, as the blob's content.</summary>
    public async Task CommitAsync(IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (_filled > 0)
        {
            await StageAsync(cancellationToken).ConfigureAwait(false);
        }

        await blob.CommitBlockListAsync(_blocks, new CommitBlockListOptions { Metadata = metadata?.ToDictionary() }, cancellationToken)
            .ConfigureAwait(false);
    }

    public override void Flush() { }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        base.Dispose(disposing);
    }

    private async Task StageAsync(CancellationToken cancellationToken)
    {
        // Block ids must all have the same length: the block's number, fixed width, in base64.
        string id = Convert.ToBase64String(Encoding.ASCII.GetBytes(_blocks.Count.ToString("D8", CultureInfo.InvariantCulture)));
        using (var content = new MemoryStream(_buffer!, 0, _filled, writable: false))
        {
            await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        _blocks.Add(id);
        _filled = 0;
    }
}

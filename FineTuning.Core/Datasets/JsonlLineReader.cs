using System.Buffers;

namespace FineTuning.Core.Datasets;

/// <summary>Where a line sits in the stream and how it ended.</summary>
public readonly record struct LineInfo(long Number, long Offset, int Length, bool HasNewline, bool HadCarriageReturn, bool TooLong)
{
    /// <summary>
    /// Set on a too-long line that had no line break within <see cref="JsonlLineReader.GiveUpBytes"/>: reading stopped
    /// there (an endless stream such as a device, or a file that is not JSON Lines).
    /// </summary>
    public bool ReadingStopped { get; init; }
}

/// <summary>
/// Splits a stream into lines over one pooled buffer: a line is handed out as a span into the buffer, valid until
/// the next call. Memory stays bounded by the longest line allowed; a longer line is reported as too long and skipped
/// without being held.
/// </summary>
public sealed class JsonlLineReader : IDisposable
{
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _scanFrom;
    private long _bufferOffset; // stream offset of _buffer[0]
    private long _nextLine;
    private bool _eof;
    private bool _pooled = true;

    public JsonlLineReader(
        Stream stream,
        long firstLineNumber = 1,
        int maxLineBytes = ValidationOptions.DefaultMaxLineBytes,
        int bufferSize = 1 << 20,
        long startOffset = 0
    )
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(bufferSize, maxLineBytes + 1));
        _nextLine = firstLineNumber;
        _bufferOffset = startOffset;
    }

    /// <summary>How far a too-long line is followed looking for its end before reading stops (1 GiB).</summary>
    public const long GiveUpBytes = 1L << 30;

    /// <summary>Bytes consumed so far (the offset of the next line).</summary>
    public long Position => _bufferOffset + _start;

    /// <summary>Reads the next line without its line break (<c>\n</c> or <c>\r\n</c>).</summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line, out LineInfo info)
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_scanFrom, _end - _scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int lf = _scanFrom + newline;
                line = Emit(lf, hasNewline: true, out info);
                return true;
            }

            _scanFrom = _end;
            if (_end - _start > _maxLineBytes)
            {
                return SkipLongLine(out line, out info);
            }

            if (_eof)
            {
                if (_start < _end)
                {
                    line = Emit(_end, hasNewline: false, out info);
                    return true;
                }

                line = default;
                info = default;
                return false;
            }

            Fill();
        }
    }

    private ReadOnlySpan<byte> Emit(int lineEnd, bool hasNewline, out LineInfo info)
    {
        int length = lineEnd - _start;
        bool cr = length > 0 && _buffer[lineEnd - 1] == (byte)'\r';
        var span = new ReadOnlySpan<byte>(_buffer, _start, cr ? length - 1 : length);
        info = new LineInfo(_nextLine++, _bufferOffset + _start, length, hasNewline, cr, TooLong: false);
        _start = hasNewline ? lineEnd + 1 : lineEnd;
        _scanFrom = _start;
        return span;
    }

    private bool SkipLongLine(out ReadOnlySpan<byte> line, out LineInfo info)
    {
        long offset = _bufferOffset + _start;
        long length = 0;
        bool hasNewline = false;
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                length += newline;
                _start += newline + 1;
                hasNewline = true;
                break;
            }

            length += _end - _start;
            _start = _end;
            if (_eof)
            {
                break;
            }

            if (length >= GiveUpBytes)
            {
                // No line break in sight: a device or an endless stream would be read forever. Stop here.
                _eof = true;
                _start = _end;
                _scanFrom = _start;
                info = new LineInfo(_nextLine++, offset, (int)Math.Min(length, int.MaxValue), false, false, TooLong: true)
                {
                    ReadingStopped = true,
                };
                line = default;
                return true;
            }

            Fill();
        }

        _scanFrom = _start;
        info = new LineInfo(_nextLine++, offset, (int)Math.Min(length, int.MaxValue), hasNewline, HadCarriageReturn: false, TooLong: true);
        line = default;
        return true;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            // Move the unfinished line to the front.
            int pending = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _bufferOffset += _start;
            _scanFrom -= _start;
            _start = 0;
            _end = pending;
        }

        if (_end == _buffer.Length)
        {
            // No line break in a full buffer: grow it, up to one byte past the longest line allowed (exact sizes
            // above the pool's first buffer, so a 20 MB line does not cost a 32 MB array).
            int size = (int)Math.Min((long)_buffer.Length * 2, _maxLineBytes + 1L);
            byte[] bigger = GC.AllocateUninitializedArray<byte>(size);
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ReturnBuffer();
            _buffer = bigger;
            _pooled = false;
        }

        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    public void Dispose()
    {
        ReturnBuffer();
        _buffer = [];
    }

    private void ReturnBuffer()
    {
        if (_pooled && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}

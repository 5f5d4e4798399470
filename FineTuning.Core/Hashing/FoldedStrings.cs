namespace FineTuning.Core.Hashing;

/// <summary>
/// The folded hashes of a row's string member values that were folded while the row was read (see
/// <see cref="FoldedText"/>), by where each value's text starts, in the order read, for the canonical walk
/// (<see cref="CanonicalJson.MemberHashes"/>) to take instead of folding them
/// again. A value is recorded only with its member's name as written (no escape, at most 64 bytes) as its lead, as the
/// walk folds it.
/// </summary>
internal sealed class FoldedStrings
{
    private Entry[] _entries = new Entry[16];
    private int _count;
    private int _next;

    private readonly record struct Entry(int Start, int End, bool Rewrite, UInt128 Folded);

    /// <summary>Forgets the row read before.</summary>
    public void Clear()
    {
        _count = 0;
        _next = 0;
    }

    /// <summary>
    /// Records the string whose text starts at <paramref name="start"/> and ends at <paramref name="end"/> (its closing
    /// quote), folded into <paramref name="text"/> with its member's name as lead. Strings are recorded in the order
    /// they are read.
    /// </summary>
    public void Add(int start, int end, in FoldedText text) => Add(start, end, text.Rewrite, text.Finish());

    /// <summary>
    /// Records the string whose text starts at <paramref name="start"/> and ends at <paramref name="end"/>, whose folded
    /// hash with its member's name as lead is <paramref name="folded"/> (<see cref="FoldedText.Of"/>).
    /// </summary>
    public void Add(int start, int end, bool rewrite, UInt128 folded)
    {
        if (_count == _entries.Length)
        {
            Array.Resize(ref _entries, _count * 2);
        }

        _entries[_count++] = new Entry(start, end, rewrite, folded);
    }

    /// <summary>The string whose text starts at <paramref name="start"/>, when it was recorded; the walk asks in order.</summary>
    public bool TryTake(int start, out int end, out bool rewrite, out UInt128 folded)
    {
        while (_next < _count && _entries[_next].Start < start)
        {
            _next++;
        }

        if (_next < _count && _entries[_next].Start == start)
        {
            (_, end, rewrite, folded) = _entries[_next++];
            return true;
        }

        (end, rewrite, folded) = (0, false, 0);
        return false;
    }
}

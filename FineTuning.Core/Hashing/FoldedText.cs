using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace FineTuning.Core.Hashing;

/// <summary>
/// A string's folded text (see <see cref="CanonicalJson.FoldedHash"/>: letters in lower case and digits kept, the rest
/// dropped) hashed as the string is read: kept bytes gather in a buffer per thread and are hashed in chunks of
/// <see cref="Chunk"/> bytes, chained, so a string of any length folds into a small buffer. <see cref="CanonicalJson"/>
/// folds with it, and so does the token estimator, which classifies the same bytes: a message's text is then folded in
/// the pass that counts its tokens, not in a pass of its own.
/// </summary>
internal struct FoldedText : ITextFold
{
    public static bool Folds => true;

    /// <summary>Folded text is hashed in chunks of this many bytes, chained.</summary>
    private const int Chunk = 2048;

    // A chunk, plus what one step can add past it (a block of 32, or one character in lower case: at most 4 bytes). One
    // per thread, written before it is read: a string folds without clearing a buffer.
    [ThreadStatic]
    private static byte[]? t_buffer;

    // An ASCII letter as its lower case, a digit as itself, any other byte as 0 (dropped).
    private static readonly byte[] AsciiFold =
    [
        .. Enumerable
            .Range(0, 256)
            .Select(b => b < 0x80 && char.IsAsciiLetterOrDigit((char)b) ? (byte)char.ToLowerInvariant((char)b) : (byte)0),
    ];

    // Added to a half's shuffle indices: the second 8 bytes of a 16-byte lane.
    private const ulong HighHalf = 0x0808080808080808UL;

    private readonly byte[] _buffer;
    private int _length;
    private UInt128 _chain;

    /// <summary>
    /// Starts the folded text of a string; a member's value has its name as <paramref name="lead"/> (at most 64 bytes):
    /// the hash is then of the name, a colon and the folded text (folded text holds no colon, so where the name ends is
    /// never in doubt).
    /// </summary>
    public FoldedText(ReadOnlySpan<byte> lead)
    {
        _buffer = t_buffer ??= new byte[Chunk + 32];
        if (!lead.IsEmpty)
        {
            lead.CopyTo(_buffer);
            _length = lead.Length;
            _buffer[_length++] = (byte)':';
        }
    }

    /// <summary>Whether the string holds an escape that has another way to be written (<c>\u</c>, <c>\/</c>).</summary>
    public bool Rewrite { get; private set; }

    /// <summary>Where the next kept bytes go: at least 32 bytes.</summary>
    public readonly Span<byte> Free => _buffer.AsSpan(_length);

    /// <summary>Takes <paramref name="count"/> bytes written to <see cref="Free"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance(int count)
    {
        _length += count;
        if (_length >= Chunk)
        {
            // Hashes the full chunk into the chain and moves what is past it to the front.
            _chain = CanonicalJson.Mix(Hash(_buffer.AsSpan(0, Chunk)), CanonicalJson.Salt(_chain));
            _length -= Chunk;
            _buffer.AsSpan(Chunk, _length).CopyTo(_buffer);
        }
    }

    /// <summary>
    /// Folds the bytes of a 32-byte block of printable ASCII with no backslash that <paramref name="kept"/> marks (one bit
    /// per byte: its letters and digits, or some of them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Plain(ReadOnlySpan<byte> block, uint kept)
    {
        if (Avx2.IsSupported)
        {
            Advance(Pack32(Vector256.Create(block), kept, Free));
        }
        else if (Ssse3.IsSupported)
        {
            int written = Pack16(Vector128.Create(block), kept & 0xFFFF, Free);
            Advance(written + Pack16(Vector128.Create(block[16..]), kept >> 16, Free[written..]));
        }
        else
        {
            Span<byte> output = Free;
            int n = 0;
            for (uint bits = kept; bits != 0; bits &= bits - 1)
            {
                output[n++] = (byte)(block[BitOperations.TrailingZeroCount(bits)] | 0x20);
            }

            Advance(n);
        }
    }

    /// <summary>
    /// Folds the character at <paramref name="i"/> of a string's escaped text <paramref name="s"/> (an ASCII byte, an
    /// escape, a surrogate pair written as two escapes, or a multi-byte character); the index after it.
    /// </summary>
    public int Character(ReadOnlySpan<byte> s, int i)
    {
        byte b = s[i];
        if (b != '\\' && b < 0x80)
        {
            byte folded = AsciiFold[b];
            if (folded != 0)
            {
                _buffer[_length] = folded;
                Advance(1);
            }

            return i + 1;
        }

        Rune rune;
        int next;
        if (b == '\\')
        {
            byte escaped = i + 1 < s.Length ? s[i + 1] : (byte)0;
            if (escaped != 'u')
            {
                Rewrite |= escaped == '/';
                return Math.Min(i + 2, s.Length); // \n, \t, \", ... : whitespace and punctuation
            }

            Rewrite = true;
            next = i + 6;
            if (!Words.TryHex(s, i + 2, out int unit))
            {
                return Math.Min(next, s.Length);
            }

            if (char.IsHighSurrogate((char)unit) && next + 1 < s.Length && s[next] == '\\' && s[next + 1] == 'u')
            {
                if (!Words.TryHex(s, next + 2, out int low) || !char.IsLowSurrogate((char)low))
                {
                    return next; // a lone surrogate; what follows is read on its own
                }

                next += 6;
                rune = new Rune((char)unit, (char)low);
            }
            else if (!Rune.TryCreate(unit, out rune))
            {
                return next; // a lone surrogate
            }
        }
        else
        {
            Rune.DecodeFromUtf8(s[i..], out rune, out int consumed);
            next = i + consumed;
        }

        if (Rune.IsLetterOrDigit(rune))
        {
            Advance(Rune.ToLowerInvariant(rune).EncodeToUtf8(Free));
        }

        return next;
    }

    /// <summary>The folded hash of a string's escaped text <paramref name="text"/> led by <paramref name="lead"/>.</summary>
    public static UInt128 Of(ReadOnlySpan<byte> lead, ReadOnlySpan<byte> text)
    {
        var folded = new FoldedText(lead);
        for (int i = 0; i < text.Length; )
        {
            i = folded.Character(text, i);
        }

        return folded.Finish();
    }

    /// <summary>
    /// A chunk of folded text hashed: up to 16 bytes as <see cref="CanonicalJson"/> hashes them, longer by 64-bit XXH3 (half
    /// the work of XXH3-128 on a message's text) mixed with the length. The folded identity only warns of near-duplicates,
    /// so 64 bits a text are ample: among ten million rows, two collide with a chance of about 3 in a million.
    /// </summary>
    private static UInt128 Hash(ReadOnlySpan<byte> folded) =>
        folded.Length <= 16
            ? CanonicalJson.Bytes(folded, CanonicalJson.StringSeed)
            : CanonicalJson.Mix(System.IO.Hashing.XxHash3.HashToUInt64(folded), (ulong)folded.Length);

    /// <summary>The folded hash of the string read.</summary>
    public readonly UInt128 Finish()
    {
        UInt128 last = Hash(_buffer.AsSpan(0, _length));
        return _chain == 0 ? last : CanonicalJson.Mix(last, CanonicalJson.Salt(_chain));
    }

    /// <summary>
    /// Packs the bytes of a 32-byte block that <paramref name="kept"/> marks (letters and digits only) to the front of
    /// <paramref name="output"/>, letters in lower case; the count written (32 bytes of output may be touched). With
    /// AVX-512 VBMI2, a block whose letters and digits are all kept is packed by one compress; else AVX2's shuffle packs
    /// each 16-byte lane's two halves, and the four halves are stored one after the other.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Pack32(Vector256<byte> v, uint kept, Span<byte> output)
    {
        // A digit has the case bit set already: one or folds letters and leaves digits.
        Vector256<byte> lower = v | Vector256.Create((byte)0x20);
        if (Avx512Vbmi2.VL.IsSupported && CanonicalJson.CompressBlocks)
        {
            Vector256<byte> alphanumeric =
                Vector256.LessThanOrEqual(lower - Vector256.Create((byte)'a'), Vector256.Create((byte)25))
                | Vector256.LessThanOrEqual(v - Vector256.Create((byte)'0'), Vector256.Create((byte)9));
            if (alphanumeric.ExtractMostSignificantBits() == kept)
            {
                Avx512Vbmi2.VL.Compress(Vector256<byte>.Zero, alphanumeric, lower).CopyTo(output);
                return BitOperations.PopCount(kept);
            }
        }

        Vector256<ulong> packed = Avx2.Shuffle(
                lower,
                Vector256
                    .Create(
                        PackIndices[kept & 0xFF],
                        PackIndices[(kept >> 8) & 0xFF] + HighHalf,
                        PackIndices[(kept >> 16) & 0xFF],
                        PackIndices[kept >> 24] + HighHalf
                    )
                    .AsByte()
            )
            .AsUInt64();
        int written = Store(packed.GetElement(0), packed.GetElement(1), kept & 0xFFFF, output);
        return written + Store(packed.GetElement(2), packed.GetElement(3), kept >> 16, output[written..]);
    }

    /// <summary><see cref="Pack32"/> for a 16-byte block, with SSSE3's shuffle (16 bytes of output may be touched).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Pack16(Vector128<byte> v, uint kept, Span<byte> output)
    {
        Vector128<ulong> packed = Ssse3
            .Shuffle(
                v | Vector128.Create((byte)0x20),
                Vector128.Create(PackIndices[kept & 0xFF], PackIndices[kept >> 8] + HighHalf).AsByte()
            )
            .AsUInt64();
        return Store(packed.GetElement(0), packed.GetElement(1), kept, output);
    }

    /// <summary>
    /// Stores a 16-byte lane's two packed halves one after the other; the count of kept bytes (of
    /// <paramref name="kept"/>'s 16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Store(ulong low, ulong high, uint kept, Span<byte> output)
    {
        int first = BitOperations.PopCount(kept & 0xFF);
        MemoryMarshal.Write(output, low);
        MemoryMarshal.Write(output[first..], high);
        return first + BitOperations.PopCount(kept & 0xFF00);
    }

    // For each 8-bit mask, the indices of its set bits in order, then 0x80 (a zero byte), as a shuffle's control.
    private static readonly ulong[] PackIndices =
    [
        .. Enumerable
            .Range(0, 256)
            .Select(mask =>
            {
                ulong indices = 0x8080808080808080UL;
                int at = 0;
                for (int bit = 0; bit < 8; bit++)
                {
                    if ((mask & (1 << bit)) != 0)
                    {
                        indices = (indices & ~(0xFFUL << (8 * at))) | ((ulong)bit << (8 * at));
                        at++;
                    }
                }

                return indices;
            }),
    ];
}

/// <summary>
/// What a pass over a string's escaped text that classifies its bytes (the token estimator's) hands a fold of the same
/// text: blocks of plain ASCII with their letters and digits marked, and every other character one at a time.
/// </summary>
internal interface ITextFold
{
    /// <summary>False for a pass that folds nothing: its calls are then left out.</summary>
    static abstract bool Folds { get; }

    /// <inheritdoc cref="FoldedText.Plain"/>
    void Plain(ReadOnlySpan<byte> block, uint kept);

    /// <inheritdoc cref="FoldedText.Character"/>
    int Character(ReadOnlySpan<byte> s, int i);
}

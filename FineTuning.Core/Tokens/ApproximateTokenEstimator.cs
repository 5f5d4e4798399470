using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FineTuning.Core.Hashing;

namespace FineTuning.Core.Tokens;

/// <summary>
/// A fast, allocation-free approximation of the o200k/cl100k byte-pair encoders, modelled on their pre-tokenizer
/// (which splits text into words, numbers, punctuation and whitespace before merging bytes). Text is read as runs of
/// one class of character; each character adds a share of a token by its class and its place in the run:
/// <list type="bullet">
/// <item>a letter starts a token at the start of a run (a word, with the single space before it) and adds 1/8 for
/// each letter after the 8th (common words are one token, long ones split);</item>
/// <item>a digit starts a token and adds 1/3 for each digit after the 3rd (the encoders group digits by three);</item>
/// <item>punctuation or a symbol starts a token and adds 1/2 for each character after the 2nd;</item>
/// <item>a run of line breaks or tabs is one token; so is a run of two or more spaces (one space joins the next word);</item>
/// <item>outside ASCII: half a token per 2-byte character (Latin, Greek, Cyrillic, Hebrew, Arabic), one per 3-byte
/// character (CJK and most other scripts), two per 4-byte character (emoji); a <c>\uXXXX</c> escape counts as one.</item>
/// </list>
/// Runs of up to 32 plain-ASCII bytes (the end of a string, or the bytes before an escape, too) are classified with
/// vector instructions and counted with bit masks; escapes and other bytes go through the scalar loop, which carries
/// the same run state, so both give the same count.
/// The exact encoders are not available in this workplace's package mirror, so the figures are estimates: meant to be
/// within the range where limits and costs can be judged, not to match the provider's bill exactly.
/// </summary>
public sealed class ApproximateTokenEstimator : ITokenEstimator
{
    public static ApproximateTokenEstimator Instance { get; } = new();

    // Classes; Letter, Digit, Space and Punct are also the four masks of the vector path.
    private const int Letter = 0,
        Digit = 1,
        Space = 2,
        Punct = 3,
        Break = 4,
        Lead2 = 5,
        Lead3 = 6,
        Lead4 = 7,
        Cont = 8,
        Unicode = 9,
        Other = 10,
        Escape = 11;

    // Costs in 1/24 of a token, so that thirds, halves and eighths add up exactly.
    private const int Unit = 24;

    private static readonly byte[] ClassOf = BuildClasses();

    public string Name => "approx-o200k";

    public string Accounting => "an approximation of the provider's encoder, with the cookbook's per-message accounting";

    /// <summary>
    /// The vector path's width: 32-byte vectors (AVX2), pairs of 16-byte ones (SSE, Arm's NEON: 2.3x faster than the
    /// scalar loop alone on a machine without AVX2), or 0 for the scalar loop. Tests set each to compare them.
    /// </summary>
    internal int VectorBytes { get; init; } =
        Vector256.IsHardwareAccelerated ? 32
        : Vector128.IsHardwareAccelerated ? 16
        : 0;

    public int CountEscaped(ReadOnlySpan<byte> escapedUtf8)
    {
        var nothing = default(NoFold);
        return Count<NoFold, GivenEnd>(escapedUtf8, ref nothing, out _, out _);
    }

    /// <summary>
    /// <see cref="CountEscaped(ReadOnlySpan{byte})"/>, folding the text into <paramref name="fold"/> in the same pass (the
    /// near-duplicate identity of a message's text: <see cref="FoldedText"/>).
    /// </summary>
    internal int CountEscaped(ReadOnlySpan<byte> escapedUtf8, ref FoldedText fold) =>
        Count<FoldedText, GivenEnd>(escapedUtf8, ref fold, out _, out _);

    /// <summary>
    /// Counts and folds the text of a JSON string whose end is not yet known: <paramref name="rest"/> starts after its
    /// opening quote (and runs to the end of the row), and the count stops at its closing quote, <paramref name="length"/>
    /// bytes on, so the string is crossed once for its end, its tokens and its fold. -1 when the text holds what a JSON
    /// string may not (a control character, an escape JSON does not have) or does not end: then a reader that says what
    /// is wrong reads it. <paramref name="escaped"/>: the text holds an escape.
    /// </summary>
    internal int CountString(ReadOnlySpan<byte> rest, ref FoldedText fold, out int length, out bool escaped) =>
        Count<FoldedText, QuoteEnd>(rest, ref fold, out length, out escaped);

    /// <summary>Where a count ends: at the end of the text given, or at the string's closing quote.</summary>
    private interface IStringEnd
    {
        static abstract bool AtQuote { get; }
    }

    private struct GivenEnd : IStringEnd
    {
        public static bool AtQuote => false;
    }

    private struct QuoteEnd : IStringEnd
    {
        public static bool AtQuote => true;
    }

    private int Count<TFold, TEnd>(ReadOnlySpan<byte> escapedUtf8, ref TFold fold, out int end, out bool escaped)
        where TFold : struct, ITextFold
        where TEnd : struct, IStringEnd
    {
        var state = new RunState { PreviousClass = -1 };
        long cost = 0;
        int i = 0,
            n = escapedUtf8.Length;
        int folded = 0; // where the fold has read to: a character it took whole (an escaped surrogate pair) is stepped twice
        end = n;
        escaped = false;
        if (VectorBytes > 0)
        {
            bool wide = VectorBytes == 32;
            Span<byte> tail = stackalloc byte[32];
            while (i < n)
            {
                // A whole block, or the string's last bytes copied into a zeroed one (the bits past them are masked off).
                int length = Math.Min(32, n - i);
                scoped ReadOnlySpan<byte> block = escapedUtf8.Slice(i, length);
                if (length < 32)
                {
                    tail.Clear();
                    block.CopyTo(tail);
                    block = tail;
                }

                uint valid = length == 32 ? uint.MaxValue : (1u << length) - 1;
                uint plain = PlainBits(block, wide) & valid;
                if (TEnd.AtQuote)
                {
                    // A quote among the plain bytes before any other is the closing one (an escaped quote is stepped below).
                    uint quotes = QuoteBits(block, wide) & valid;
                    int quote = BitOperations.TrailingZeroCount(quotes);
                    if (quotes != 0 && quote <= BitOperations.TrailingZeroCount(~plain))
                    {
                        if (quote > 0)
                        {
                            cost += CountBlock(block, quote, wide, ref state, ref fold);
                        }

                        end = i + quote;
                        return Tokens(cost);
                    }
                }

                if (plain == valid)
                {
                    cost += CountBlock(block, length, wide, ref state, ref fold);
                    i += length;
                    continue;
                }

                // The plain bytes before the first other one as a shorter block, that one (an escape, a multi-byte
                // character) in the scalar loop, then vectors again.
                int prefix = BitOperations.TrailingZeroCount(~plain);
                if (prefix > 0)
                {
                    cost += CountBlock(block, prefix, wide, ref state, ref fold);
                    i += prefix;
                }

                if (TEnd.AtQuote && !IsStringText(escapedUtf8, i, ref escaped))
                {
                    return -1;
                }

                if (TFold.Folds && i >= folded)
                {
                    folded = fold.Character(escapedUtf8, i);
                }

                i = Step(escapedUtf8, i, ref state, ref cost);
            }
        }

        while (i < n)
        {
            if (TEnd.AtQuote)
            {
                if (escapedUtf8[i] == '"')
                {
                    end = i;
                    return Tokens(cost);
                }

                if (!IsStringText(escapedUtf8, i, ref escaped))
                {
                    return -1;
                }
            }

            if (TFold.Folds && i >= folded)
            {
                folded = fold.Character(escapedUtf8, i);
            }

            i = Step(escapedUtf8, i, ref state, ref cost);
        }

        // Counting to a closing quote, none was found.
        return TEnd.AtQuote ? -1 : Tokens(cost);

        static int Tokens(long cost) => (int)((cost + (Unit / 2)) / Unit);
    }

    /// <summary>
    /// Whether the character at <paramref name="i"/> (not plain ASCII: an escape, a control character, a multi-byte
    /// character) may be in a JSON string's text: a control character may not, and an escape must be one JSON has.
    /// </summary>
    private static bool IsStringText(ReadOnlySpan<byte> s, int i, ref bool escaped)
    {
        byte b = s[i];
        if (b != '\\')
        {
            return b >= 0x20;
        }

        escaped = true;
        return i + 1 < s.Length
            && s[i + 1] switch
            {
                (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' => true,
                (byte)'u' => Words.TryHex(s, i + 2, out _),
                _ => false,
            };
    }

    /// <summary>One bit per byte of a 32-byte block: printable ASCII but the backslash (a byte the vector path takes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PlainBits(ReadOnlySpan<byte> block, bool wide) =>
        wide
            ? Plain(Vector256.Create(block)).ExtractMostSignificantBits()
            : Plain(Vector128.Create(block)).ExtractMostSignificantBits()
                | (Plain(Vector128.Create(block[16..])).ExtractMostSignificantBits() << 16);

    /// <summary>One bit per byte of a 32-byte block: a quote.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint QuoteBits(ReadOnlySpan<byte> block, bool wide) =>
        wide
            ? Vector256.Equals(Vector256.Create(block), Vector256.Create((byte)'"')).ExtractMostSignificantBits()
            : Vector128.Equals(Vector128.Create(block), Vector128.Create((byte)'"')).ExtractMostSignificantBits()
                | (Vector128.Equals(Vector128.Create(block[16..]), Vector128.Create((byte)'"')).ExtractMostSignificantBits() << 16);

    private static Vector256<byte> Plain(Vector256<byte> v) =>
        Vector256.LessThan(v - Vector256.Create((byte)0x20), Vector256.Create((byte)0x5F))
        & ~Vector256.Equals(v, Vector256.Create((byte)'\\'));

    private static Vector128<byte> Plain(Vector128<byte> v) =>
        Vector128.LessThan(v - Vector128.Create((byte)0x20), Vector128.Create((byte)0x5F))
        & ~Vector128.Equals(v, Vector128.Create((byte)'\\'));

    /// <summary>One bit per byte of a 32-byte block for each class of plain ASCII: letters, digits, spaces.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (uint Letters, uint Digits, uint Spaces) ClassBits(ReadOnlySpan<byte> block, bool wide)
    {
        if (wide)
        {
            Vector256<byte> v = Vector256.Create(block);
            return (
                Letters(v).ExtractMostSignificantBits(),
                Digits(v).ExtractMostSignificantBits(),
                Vector256.Equals(v, Vector256.Create((byte)' ')).ExtractMostSignificantBits()
            );
        }

        Vector128<byte> lo = Vector128.Create(block),
            hi = Vector128.Create(block[16..]);
        return (
            Letters(lo).ExtractMostSignificantBits() | (Letters(hi).ExtractMostSignificantBits() << 16),
            Digits(lo).ExtractMostSignificantBits() | (Digits(hi).ExtractMostSignificantBits() << 16),
            Vector128.Equals(lo, Vector128.Create((byte)' ')).ExtractMostSignificantBits()
                | (Vector128.Equals(hi, Vector128.Create((byte)' ')).ExtractMostSignificantBits() << 16)
        );
    }

    private static Vector256<byte> Letters(Vector256<byte> v) =>
        Vector256.LessThan((v | Vector256.Create((byte)0x20)) - Vector256.Create((byte)'a'), Vector256.Create((byte)26));

    private static Vector128<byte> Letters(Vector128<byte> v) =>
        Vector128.LessThan((v | Vector128.Create((byte)0x20)) - Vector128.Create((byte)'a'), Vector128.Create((byte)26));

    private static Vector256<byte> Digits(Vector256<byte> v) =>
        Vector256.LessThan(v - Vector256.Create((byte)'0'), Vector256.Create((byte)10));

    private static Vector128<byte> Digits(Vector128<byte> v) =>
        Vector128.LessThan(v - Vector128.Create((byte)'0'), Vector128.Create((byte)10));

    /// <summary>A pass that folds nothing.</summary>
    private struct NoFold : ITextFold
    {
        public static bool Folds => false;

        public readonly void Plain(ReadOnlySpan<byte> block, uint kept) { }

        public readonly int Character(ReadOnlySpan<byte> s, int i) => s.Length;
    }

    /// <summary>The run in progress: its class and how many characters of it came before (capped).</summary>
    private struct RunState
    {
        public int PreviousClass;
        public int Run;
    }

    /// <summary>Counts the first <paramref name="length"/> (1..32) bytes of a block of plain ASCII, carrying the run state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long CountBlock<TFold>(ReadOnlySpan<byte> block, int length, bool wide, ref RunState state, ref TFold fold)
        where TFold : struct, ITextFold
    {
        uint valid = length == 32 ? uint.MaxValue : (1u << length) - 1;
        (uint letters, uint digits, uint spaces) = ClassBits(block, wide);
        letters &= valid;
        digits &= valid;
        spaces &= valid;
        uint punct = ~(letters | digits | spaces) & valid;
        if (TFold.Folds)
        {
            fold.Plain(block, letters | digits);
        }

        // Bits 32..63 are this block; bits below are the run carried in (as many ones as the run is long, capped).
        int carried = Math.Min(state.Run + 1, 32);
        ulong history = state.PreviousClass is >= Letter and <= Punct ? Ones(carried) << (32 - carried) : 0;
        ulong l = ((ulong)letters << 32) | (state.PreviousClass == Letter ? history : 0);
        ulong d = ((ulong)digits << 32) | (state.PreviousClass == Digit ? history : 0);
        ulong s = ((ulong)spaces << 32) | (state.PreviousClass == Space ? history : 0);
        ulong p = ((ulong)punct << 32) | (state.PreviousClass == Punct ? history : 0);

        // Bits with at least n characters of their run before them: each ands in the n bits below it, by doubling.
        ulong l2 = l & (l << 1),
            l4 = l2 & (l2 << 2),
            lettersAfter8 = l4 & (l4 << 4) & (l << 8);
        ulong d2 = d & (d << 1),
            digitsAfter3 = d2 & (d2 << 2);
        ulong s2 = s & (s << 1);
        long cost =
            (long)Unit * (Starts(l) + Starts(d) + Starts(p))
            + (3L * BitOperations.PopCount(lettersAfter8 >> 32))
            + (8L * BitOperations.PopCount(digitsAfter3 >> 32))
            + (12L * BitOperations.PopCount((p & (p << 1) & (p << 2)) >> 32))
            + ((long)Unit * BitOperations.PopCount((s2 & ~(s << 2)) >> 32)); // the second space of a run

        // Carry the run that ends the block: its last byte's class, and the ones before it (shifted up to bit 63).
        int top = length - 1;
        int last =
            ((letters >> top) & 1) != 0 ? Letter
            : ((digits >> top) & 1) != 0 ? Digit
            : ((spaces >> top) & 1) != 0 ? Space
            : Punct;
        ulong mask = last switch
        {
            Letter => l,
            Digit => d,
            Space => s,
            _ => p,
        };
        state.PreviousClass = last;
        state.Run = Math.Min(BitOperations.LeadingZeroCount(~(mask << (32 - length))) - 1, 62);
        return cost;
    }

    /// <summary>Bits of the block (32..63) that start a run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Starts(ulong m) => BitOperations.PopCount((m & ~(m << 1)) >> 32);

    private static ulong Ones(int count) => count >= 64 ? ulong.MaxValue : (1UL << count) - 1;

    /// <summary>Counts one character (one byte, an escape sequence or a multi-byte character) and returns the next index.</summary>
    private static int Step(ReadOnlySpan<byte> s, int i, ref RunState state, ref long cost)
    {
        int c = ClassOf[s[i]];
        int next = i + 1;
        if (c == Escape)
        {
            if (next >= s.Length)
            {
                c = Punct;
            }
            else
            {
                c = s[next] switch
                {
                    (byte)'n' or (byte)'r' or (byte)'t' => Break,
                    (byte)'u' => Unicode,
                    _ => Punct,
                };
                next = c == Unicode ? Math.Min(s.Length, i + 6) : i + 2;
            }
        }

        state.Run = c == state.PreviousClass ? Math.Min(state.Run + 1, 62) : 0;
        state.PreviousClass = c;
        int run = state.Run;
        cost += c switch
        {
            Letter => run == 0 ? Unit
            : run >= 8 ? 3
            : 0,
            Digit => run == 0 ? Unit
            : run >= 3 ? 8
            : 0,
            Punct => run == 0 ? Unit
            : run >= 2 ? 12
            : 0,
            Space => run == 1 ? Unit : 0,
            Break => run == 0 ? Unit : 0,
            Lead2 => Unit / 2,
            Lead3 => Unit,
            Lead4 => 2 * Unit,
            Cont => 0,
            _ => Unit, // \uXXXX escapes and control characters
        };
        return next;
    }

    private static byte[] BuildClasses()
    {
        var t = new byte[256];
        for (int b = 0; b < 256; b++)
        {
            t[b] = (byte)(
                b switch
                {
                    >= 'a' and <= 'z' or >= 'A' and <= 'Z' => Letter,
                    >= '0' and <= '9' => Digit,
                    ' ' => Space,
                    '\t' or '\n' or '\r' => Break,
                    '\\' => Escape,
                    > ' ' and < 0x7F => Punct,
                    >= 0x80 and < 0xC0 => Cont,
                    >= 0xC0 and < 0xE0 => Lead2,
                    >= 0xE0 and < 0xF0 => Lead3,
                    >= 0xF0 => Lead4,
                    _ => Other,
                }
            );
        }

        return t;
    }
}

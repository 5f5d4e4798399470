using System.Buffers;
using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using System.Text.Json;

namespace FineTuning.Core.Hashing;

/// <summary>
/// A hash of what a JSON value means rather than how it is written: whitespace between tokens is ignored, the members
/// of an object count in any order (their hashes are summed), strings count by their unescaped text (<c>"\u0041"</c>
/// is <c>"A"</c>), arrays keep their order, and numbers count as written (<c>1</c> and <c>1.0</c> differ). One forward
/// scan over a value that is already known to be valid JSON, with no reader or allocation per token.
/// </summary>
public static class CanonicalJson
{
    private const long StringSeed = 0x73;
    private const long ScalarSeed = 0x6E;
    private const ulong ObjectTag = 0x6F626A;
    private const ulong ArrayTag = 0x617272;

    private static readonly SearchValues<byte> Whitespace = SearchValues.Create(" \t\r\n"u8);
    private static readonly SearchValues<byte> StringEnd = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> ScalarEnd = SearchValues.Create(",}] \t\r\n"u8);

    // How folding treats each byte: an ASCII letter as its lower case, a digit as itself, other ASCII as 0 (dropped);
    // a backslash (an escape) and non-ASCII bytes are decoded first.
    private const byte Decode = 0xFF;
    private static readonly byte[] FoldMap = [.. Enumerable.Range(0, 256).Select(FoldByte)];

    private static byte FoldByte(int b) =>
        b >= 0x80 || b == '\\' ? Decode
        : char.IsAsciiLetterOrDigit((char)b) ? (byte)char.ToLowerInvariant((char)b)
        : (byte)0;

    /// <summary>The canonical hash of one valid JSON value.</summary>
    public static UInt128 Hash(ReadOnlySpan<byte> json)
    {
        int i = 0;
        return Value(json, ref i, fold: false);
    }

    /// <summary>
    /// The canonical hash of one valid JSON value whose string values are folded: letters in lower case, digits kept,
    /// whitespace, punctuation and symbols dropped (member names count as written). Rows that read the same to a person
    /// but differ in case, spacing or punctuation hash the same (near-duplicates).
    /// </summary>
    public static UInt128 FoldedHash(ReadOnlySpan<byte> json)
    {
        int i = 0;
        return Value(json, ref i, fold: true);
    }

    /// <summary>The canonical hash of a string token's text; <paramref name="quoted"/> includes the quotes.</summary>
    public static UInt128 HashString(ReadOnlySpan<byte> quoted)
    {
        int i = 0;
        return String(quoted, ref i);
    }

    /// <summary>An object member's contribution to its object's sum: its name and its value, bound together.</summary>
    public static UInt128 Member(UInt128 name, UInt128 value) => Mix(value, (ulong)name ^ (ulong)(name >> 64));

    /// <summary>The hash of an object whose members' contributions add up to <paramref name="sum"/>.</summary>
    public static UInt128 OfMembers(UInt128 sum) => Mix(sum, ObjectTag);

    private static UInt128 Value(ReadOnlySpan<byte> s, ref int i, bool fold)
    {
        i = SkipWhitespace(s, i);
        switch (s[i])
        {
            case (byte)'{':
            {
                i++;
                UInt128 sum = 0;
                while (true)
                {
                    i = SkipWhitespace(s, i);
                    if (s[i] == '}')
                    {
                        i++;
                        return OfMembers(sum);
                    }

                    if (s[i] == ',')
                    {
                        i++;
                        continue;
                    }

                    UInt128 name = String(s, ref i);
                    i = SkipWhitespace(s, i) + 1; // the colon
                    sum += Member(name, Value(s, ref i, fold));
                }
            }

            case (byte)'[':
            {
                i++;
                UInt128 chain = ArrayTag;
                while (true)
                {
                    i = SkipWhitespace(s, i);
                    if (s[i] == ']')
                    {
                        i++;
                        return Mix(chain, ArrayTag);
                    }

                    if (s[i] == ',')
                    {
                        i++;
                        continue;
                    }

                    chain = Mix(Value(s, ref i, fold), (ulong)chain ^ (ulong)(chain >> 64));
                }
            }

            case (byte)'"':
                return fold ? FoldedString(s, ref i) : String(s, ref i);
            default:
            {
                int length = s[i..].IndexOfAny(ScalarEnd);
                length = length < 0 ? s.Length - i : length;
                UInt128 scalar = XxHash128.HashToUInt128(s.Slice(i, length), ScalarSeed);
                i += length;
                return scalar;
            }
        }
    }

    /// <summary>
    /// A string token at <paramref name="i"/> (its opening quote); leaves <paramref name="i"/> after it. A string is hashed
    /// in its canonical escaped form: as written when its only escapes are the short ones (<c>\n</c>, <c>\"</c>, ...:
    /// the one way to write those characters), else decoded and written again that way.
    /// </summary>
    private static UInt128 String(ReadOnlySpan<byte> s, ref int i)
    {
        int start = i + 1;
        int j = start;
        bool rewrite = false;
        while (true)
        {
            int k = s[j..].IndexOfAny((byte)'"', (byte)'\\');
            if (s[j + k] == '"')
            {
                j += k;
                break;
            }

            byte escaped = s[j + k + 1];
            rewrite |= escaped is (byte)'u' or (byte)'/';
            j += k + 2;
        }

        i = j + 1;
        return rewrite ? Rewritten(s[start..j]) : XxHash128.HashToUInt128(s[start..j], StringSeed);
    }

    /// <summary>
    /// A string with <c>\u</c> or <c>\/</c> escapes, written again as the fast path reads strings: characters as UTF-8,
    /// except quote, backslash and control characters, escaped the short way where there is one (else <c>\u00xx</c>);
    /// a lone surrogate stays a lower-case <c>\uxxxx</c>. The result is never longer than the text.
    /// </summary>
    private static UInt128 Rewritten(ReadOnlySpan<byte> text)
    {
        byte[]? rented = text.Length > 512 ? ArrayPool<byte>.Shared.Rent(text.Length) : null;
        Span<byte> output = rented ?? stackalloc byte[512];
        int n = 0;
        for (int i = 0; i < text.Length; )
        {
            int run = text[i..].IndexOf((byte)'\\');
            run = run < 0 ? text.Length - i : run;
            text.Slice(i, run).CopyTo(output[n..]);
            n += run;
            i += run;
            if (i >= text.Length)
            {
                break;
            }

            byte escaped = text[i + 1];
            if (escaped == 'u')
            {
                int unit = Hex(text.Slice(i + 2, 4));
                i += 6;
                if (
                    char.IsHighSurrogate((char)unit)
                    && i + 6 <= text.Length
                    && text[i] == '\\'
                    && text[i + 1] == 'u'
                    && Hex(text.Slice(i + 2, 4)) is var low
                    && char.IsLowSurrogate((char)low)
                )
                {
                    n += new Rune((char)unit, (char)low).EncodeToUtf8(output[n..]);
                    i += 6;
                }
                else
                {
                    n += Character(unit, output[n..]);
                }
            }
            else
            {
                if (escaped == '/')
                {
                    output[n++] = (byte)'/';
                }
                else
                {
                    output[n++] = (byte)'\\';
                    output[n++] = escaped;
                }

                i += 2;
            }
        }

        UInt128 hash = XxHash128.HashToUInt128(output[..n], StringSeed);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
    }

    /// <summary>
    /// A string token at <paramref name="i"/>, folded (see <see cref="FoldedHash"/>); leaves <paramref name="i"/> after it.
    /// </summary>
    private static UInt128 FoldedString(ReadOnlySpan<byte> s, ref int i)
    {
        int start = i + 1;
        int end = start;
        while (s[end] != '"')
        {
            end += s[end] == '\\' ? 2 : 1;
        }

        i = end + 1;
        ReadOnlySpan<byte> text = s[start..end];
        // Lower case can take more bytes than upper (U+023A is 2, U+2C65 is 3): twice the text always holds it.
        // A folded block of 16 is stored 8 bytes at a time: 16 more bytes always hold the last one.
        byte[]? rented = text.Length > 248 ? ArrayPool<byte>.Shared.Rent(text.Length * 2 + 16) : null;
        Span<byte> output = rented ?? stackalloc byte[512];
        int n = 0;
        for (int j = 0; j < text.Length; )
        {
            if (Ssse3.IsSupported && j + 16 <= text.Length && FoldBlock(text.Slice(j, 16), output[n..]) is int kept and >= 0)
            {
                n += kept;
                j += 16;
                continue;
            }

            // ASCII: a letter in lower case or a digit is kept, anything else dropped, by table.
            byte b = text[j];
            byte folded = FoldMap[b];
            if (folded != Decode)
            {
                output[n] = folded;
                n += folded == 0 ? 0 : 1;
                j++;
                continue;
            }

            Rune rune;
            if (b == '\\')
            {
                if (text[j + 1] != 'u')
                {
                    j += 2; // \n, \t, \", ... : whitespace and punctuation
                    continue;
                }

                int unit = Hex(text.Slice(j + 2, 4));
                j += 6;
                if (char.IsHighSurrogate((char)unit) && j + 6 <= text.Length && text[j] == '\\' && text[j + 1] == 'u')
                {
                    int low = Hex(text.Slice(j + 2, 4));
                    if (char.IsLowSurrogate((char)low))
                    {
                        j += 6;
                        rune = new Rune((char)unit, (char)low);
                    }
                    else
                    {
                        continue;
                    }
                }
                else if (!Rune.TryCreate(unit, out rune))
                {
                    continue; // a lone surrogate
                }
            }
            else
            {
                Rune.DecodeFromUtf8(text[j..], out rune, out int consumed);
                j += consumed;
            }

            if (Rune.IsLetterOrDigit(rune))
            {
                n += Rune.ToLowerInvariant(rune).EncodeToUtf8(output[n..]);
            }
        }

        UInt128 hash = XxHash128.HashToUInt128(output[..n], StringSeed);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
    }

    /// <summary>
    /// Folds 16 bytes of pure ASCII at once (letters lower-cased, digits kept, the rest dropped, the kept bytes packed
    /// to the front with a shuffle per 8-byte half); -1 when the block holds an escape or non-ASCII text.
    /// </summary>
    private static int FoldBlock(ReadOnlySpan<byte> block, Span<byte> output)
    {
        Vector128<byte> v = Vector128.Create(block);
        if ((v.ExtractMostSignificantBits() | Vector128.Equals(v, Vector128.Create((byte)'\\')).ExtractMostSignificantBits()) != 0)
        {
            return -1;
        }

        Vector128<byte> lower = v | Vector128.Create((byte)0x20);
        Vector128<byte> letter = Vector128.LessThanOrEqual(lower - Vector128.Create((byte)'a'), Vector128.Create((byte)25));
        Vector128<byte> digit = Vector128.LessThanOrEqual(v - Vector128.Create((byte)'0'), Vector128.Create((byte)9));
        Vector128<byte> value = Vector128.ConditionalSelect(letter, lower, v);
        uint mask = (letter | digit).ExtractMostSignificantBits();
        uint low = mask & 0xFF,
            high = mask >> 8;
        Vector128<byte> packed = Ssse3.Shuffle(
            value,
            Vector128.Create(PackIndices[low], PackIndices[high] + 0x0808080808080808UL).AsByte()
        );
        int first = BitOperations.PopCount(low);
        MemoryMarshal.Write(output, packed.AsUInt64().GetElement(0));
        MemoryMarshal.Write(output[first..], packed.AsUInt64().GetElement(1));
        return first + BitOperations.PopCount(high);
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

    /// <summary>One UTF-16 code unit from a <c>\u</c> escape, written in its canonical form.</summary>
    private static int Character(int unit, Span<byte> output)
    {
        byte shortEscape = unit switch
        {
            '"' => (byte)'"',
            '\\' => (byte)'\\',
            '\n' => (byte)'n',
            '\r' => (byte)'r',
            '\t' => (byte)'t',
            '\b' => (byte)'b',
            '\f' => (byte)'f',
            _ => 0,
        };
        if (shortEscape != 0)
        {
            output[0] = (byte)'\\';
            output[1] = shortEscape;
            return 2;
        }

        if (unit < 0x20 || char.IsSurrogate((char)unit))
        {
            return Encoding.ASCII.GetBytes($"\\u{unit:x4}", output);
        }

        return new Rune(unit).EncodeToUtf8(output);
    }

    private static int Hex(ReadOnlySpan<byte> digits) =>
        System.Buffers.Text.Utf8Parser.TryParse(digits, out ushort unit, out _, 'X')
            ? unit
            : throw new FormatException("Not a \\u escape.");

    private static int SkipWhitespace(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && Whitespace.Contains(s[i]))
            i++;
        return i;
    }

    private static UInt128 Mix(UInt128 value, ulong salt)
    {
        Span<UInt128> word = [value];
        return XxHash128.HashToUInt128(MemoryMarshal.AsBytes(word), unchecked((long)salt));
    }
}

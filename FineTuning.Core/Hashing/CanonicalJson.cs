using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using System.Runtime.CompilerServices;
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
    internal const long StringSeed = 0x73;
    private const long ScalarSeed = 0x6E;
    private const long MemberSeed = 0x6D;

    // A member whose value is a string is hashed as one piece, name and value; a name up to this long leads its folded text.
    private const int MaxLeadingName = 64;
    private const ulong ObjectTag = 0x6F626A;
    private const ulong ArrayTag = 0x617272;

    private static readonly SearchValues<byte> StringEnd = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> ScalarEnd = SearchValues.Create(",}] \t\r\n"u8);

    /// <summary>The canonical hash of one valid JSON value.</summary>
    public static UInt128 Hash(ReadOnlySpan<byte> json)
    {
        int i = 0;
        return Value(json, ref i, Kinds.Exact, null).Exact;
    }

    /// <summary>
    /// The canonical hash of one valid JSON value whose string values are folded: letters in lower case, digits kept,
    /// whitespace, punctuation and symbols dropped (member names count as written). Rows that read the same to a person
    /// but differ in case, spacing or punctuation hash the same (near-duplicates).
    /// </summary>
    public static UInt128 FoldedHash(ReadOnlySpan<byte> json)
    {
        int i = 0;
        return Value(json, ref i, Kinds.Folded, null).Folded;
    }

    /// <summary>
    /// <see cref="Hash"/> and <see cref="FoldedHash"/> of one valid JSON value in one scan: its structure is walked and
    /// each string's end found once for both.
    /// </summary>
    public static (UInt128 Exact, UInt128 Folded) Hashes(ReadOnlySpan<byte> json)
    {
        int i = 0;
        Pair both = Value(json, ref i, Kinds.Both, null);
        return (both.Exact, both.Folded);
    }

    /// <summary>Which hashes a scan computes.</summary>
    [Flags]
    private enum Kinds
    {
        Exact = 1,
        Folded = 2,
        Both = Exact | Folded,
    }

    /// <summary>A value's exact and folded hashes (the one not asked for is 0).</summary>
    private readonly record struct Pair(UInt128 Exact, UInt128 Folded)
    {
        public static Pair Same(UInt128 hash) => new(hash, hash);

        public Pair Add(Pair other) => new(Exact + other.Exact, Folded + other.Folded);
    }

    /// <summary>
    /// The exact and folded contributions of one member of a valid JSON object to its object's sums (see
    /// <see cref="OfMembers"/>): the member whose name's opening quote is at <paramref name="nameQuote"/> of
    /// <paramref name="json"/>. Members picked out of an object this way hash as they do inside <see cref="Hashes"/>. The
    /// folded hashes of string values folded already are taken from <paramref name="known"/>.
    /// </summary>
    internal static (UInt128 Exact, UInt128 Folded) MemberHashes(ReadOnlySpan<byte> json, int nameQuote, FoldedStrings? known)
    {
        Pair member = ObjectMember(json, ref nameQuote, Kinds.Both, known);
        return (member.Exact, member.Folded);
    }

    /// <summary>An object member's contribution to its object's sum: its name and its value, bound together.</summary>
    private static UInt128 Member(UInt128 name, UInt128 value) => Mix(value, Salt(name));

    /// <summary>The hash of an object whose members' contributions add up to <paramref name="sum"/>.</summary>
    public static UInt128 OfMembers(UInt128 sum) => Mix(sum, ObjectTag);

    private static Pair Value(ReadOnlySpan<byte> s, ref int i, Kinds kinds, FoldedStrings? known)
    {
        i = SkipWhitespace(s, i);
        switch (s[i])
        {
            case (byte)'{':
            {
                i++;
                Pair sum = default;
                while (true)
                {
                    i = SkipWhitespace(s, i);
                    if (s[i] == '}')
                    {
                        i++;
                        return new Pair(OfMembers(sum.Exact), OfMembers(sum.Folded));
                    }

                    if (s[i] == ',')
                    {
                        i++;
                        continue;
                    }

                    sum = sum.Add(ObjectMember(s, ref i, kinds, known));
                }
            }

            case (byte)'[':
            {
                i++;
                Pair chain = Pair.Same(ArrayTag);
                while (true)
                {
                    i = SkipWhitespace(s, i);
                    if (s[i] == ']')
                    {
                        i++;
                        return new Pair(Mix(chain.Exact, ArrayTag), Mix(chain.Folded, ArrayTag));
                    }

                    if (s[i] == ',')
                    {
                        i++;
                        continue;
                    }

                    Pair item = Value(s, ref i, kinds, known);
                    chain = new Pair(Mix(item.Exact, Salt(chain.Exact)), Mix(item.Folded, Salt(chain.Folded)));
                }
            }

            case (byte)'"':
            {
                int start = i + 1;
                UInt128 folded = EndAndFolded(s, start, default, kinds, out int end, out bool rewrite);
                i = end + 1;
                return new Pair((kinds & Kinds.Exact) == 0 ? 0 : Exact(s[start..end], rewrite), folded);
            }

            default:
            {
                int length = s[i..].IndexOfAny(ScalarEnd);
                length = length < 0 ? s.Length - i : length;
                UInt128 scalar = Bytes(s.Slice(i, length), ScalarSeed);
                i += length;
                return Pair.Same(scalar);
            }
        }
    }

    /// <summary>
    /// An object member at <paramref name="i"/> (its name's opening quote), its contribution to the object's sum; leaves
    /// <paramref name="i"/> after its value. A member whose value is a string, most of them, is hashed as one piece: its
    /// canonical <c>"name":"value"</c> (read in place when written that way, else written again), and its folded text
    /// led by its canonical name. Other members bind their name's hash and their value's (<see cref="Member"/>).
    /// </summary>
    private static Pair ObjectMember(ReadOnlySpan<byte> s, ref int i, Kinds kinds, FoldedStrings? known)
    {
        int nameQuote = i;
        int nameEnd = StringEndAt(s, nameQuote + 1, out bool nameRewrite);
        i = SkipWhitespace(s, nameEnd + 1) + 1; // the colon
        i = SkipWhitespace(s, i);
        if (s[i] != '"')
        {
            UInt128 name = Exact(s[(nameQuote + 1)..nameEnd], nameRewrite);
            Pair value = Value(s, ref i, kinds, known);
            return new Pair(Member(name, value.Exact), Member(name, value.Folded));
        }

        int valueQuote = i;
        ReadOnlySpan<byte> nameText = s[(nameQuote + 1)..nameEnd];
        // A name is written again only when it holds a \u or \/ escape (rarely): only then is a buffer set aside and cleared.
        Span<byte> canonicalName = nameRewrite ? stackalloc byte[MaxLeadingName + 8] : default;
        int nameLength = nameRewrite ? Rewrite(nameText, canonicalName, MaxLeadingName) : nameText.Length;
        ReadOnlySpan<byte> lead =
            nameLength > MaxLeadingName ? default
            : nameRewrite ? canonicalName[..nameLength]
            : nameText;
        // Folded already (with the name as written as its lead, as here), or now.
        UInt128 folded;
        int valueEnd;
        bool valueRewrite;
        if (
            known is null
            || nameRewrite
            || lead.Length != nameText.Length
            || !known.TryTake(valueQuote + 1, out valueEnd, out valueRewrite, out folded)
        )
        {
            folded = EndAndFolded(s, valueQuote + 1, lead, kinds, out valueEnd, out valueRewrite);
        }

        if (lead.IsEmpty && (kinds & Kinds.Folded) != 0)
        {
            folded = Member(Exact(nameText, nameRewrite), folded);
        }

        i = valueEnd + 1;
        if ((kinds & Kinds.Exact) == 0)
        {
            return new Pair(0, folded);
        }

        // Read in place: "name":"value" with nothing between and no escape to write again.
        if (!nameRewrite && !valueRewrite && valueQuote == nameEnd + 2)
        {
            return new Pair(Bytes(s[nameQuote..i], MemberSeed), folded);
        }

        ReadOnlySpan<byte> valueText = s[(valueQuote + 1)..valueEnd];
        int size = nameText.Length + valueText.Length + 5;
        byte[]? rented = size > 512 ? ArrayPool<byte>.Shared.Rent(size) : null;
        Span<byte> output = rented ?? stackalloc byte[512];
        int n = 0;
        output[n++] = (byte)'"';
        n += nameRewrite ? Rewrite(nameText, output[n..], int.MaxValue) : Copy(nameText, output[n..]);
        "\":\""u8.CopyTo(output[n..]);
        n += 3;
        n += valueRewrite ? Rewrite(valueText, output[n..], int.MaxValue) : Copy(valueText, output[n..]);
        output[n++] = (byte)'"';
        UInt128 exact = Bytes(output[..n], MemberSeed);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return new Pair(exact, folded);

        static int Copy(ReadOnlySpan<byte> text, Span<byte> output)
        {
            text.CopyTo(output);
            return text.Length;
        }
    }

    /// <summary>
    /// Where the string whose text starts at <paramref name="start"/> ends and whether it needs writing again (see
    /// <see cref="StringEndAt"/>), and its folded hash led by <paramref name="lead"/> when <paramref name="kinds"/> asks
    /// for it (else 0): the fold finds the end itself.
    /// </summary>
    private static UInt128 EndAndFolded(
        ReadOnlySpan<byte> s,
        int start,
        ReadOnlySpan<byte> lead,
        Kinds kinds,
        out int end,
        out bool rewrite
    )
    {
        if ((kinds & Kinds.Folded) != 0)
        {
            return Folded(s, start, lead, out end, out rewrite);
        }

        end = StringEndAt(s, start, out rewrite);
        return 0;
    }

    /// <summary>
    /// Where the string whose text starts at <paramref name="start"/> ends (its closing quote), and whether it holds an
    /// escape that has another way to be written (<c>\u</c>, <c>\/</c>).
    /// </summary>
    private static int StringEndAt(ReadOnlySpan<byte> s, int start, out bool rewrite)
    {
        int j = start;
        rewrite = false;
        while (true)
        {
            // Most strings (names, roles) end within 16 bytes: one vector compare before the search.
            int k;
            if (j + 16 <= s.Length)
            {
                Vector128<byte> v = Vector128.Create(s.Slice(j, 16));
                uint ends = (
                    Vector128.Equals(v, Vector128.Create((byte)'"')) | Vector128.Equals(v, Vector128.Create((byte)'\\'))
                ).ExtractMostSignificantBits();
                k = ends != 0 ? BitOperations.TrailingZeroCount(ends) : 16 + s[(j + 16)..].IndexOfAny(StringEnd);
            }
            else
            {
                k = s[j..].IndexOfAny(StringEnd);
            }

            if (s[j + k] == '"')
                return j + k;
            byte escaped = s[j + k + 1];
            rewrite |= escaped is (byte)'u' or (byte)'/';
            j += k + 2;
        }
    }

    /// <summary>A string's text hashed in its canonical escaped form (written again when <paramref name="rewrite"/>).</summary>
    private static UInt128 Exact(ReadOnlySpan<byte> text, bool rewrite) => rewrite ? Rewritten(text) : Bytes(text, StringSeed);

    /// <summary>
    /// A string with <c>\u</c> or <c>\/</c> escapes, written again as the fast path reads strings: characters as UTF-8,
    /// except quote, backslash and control characters, escaped the short way where there is one (else <c>\u00xx</c>);
    /// a lone surrogate stays a lower-case <c>\uxxxx</c>. The result is never longer than the text.
    /// </summary>
    private static UInt128 Rewritten(ReadOnlySpan<byte> text)
    {
        byte[]? rented = text.Length > 512 ? ArrayPool<byte>.Shared.Rent(text.Length) : null;
        Span<byte> output = rented ?? stackalloc byte[512];
        UInt128 hash = Bytes(output[..Rewrite(text, output, int.MaxValue)], StringSeed);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
    }

    /// <summary>
    /// Writes a string's text in its canonical escaped form (see <see cref="Rewritten"/>); the count of bytes written, or
    /// more than <paramref name="limit"/> as soon as it is longer than that (the output then holds 8 bytes more).
    /// </summary>
    private static int Rewrite(ReadOnlySpan<byte> text, Span<byte> output, int limit)
    {
        int n = 0;
        for (int i = 0; i < text.Length && n <= limit; )
        {
            int run = text[i..].IndexOf((byte)'\\');
            run = run < 0 ? text.Length - i : run;
            if (n + run > limit)
            {
                return limit + 1;
            }

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

        return n > limit ? limit + 1 : n;
    }

    /// <summary>
    /// The folded hash (see <see cref="FoldedHash"/>) of the string whose text starts at <paramref name="start"/>, found
    /// as it is folded: <paramref name="end"/> is its closing quote, and <paramref name="rewrite"/> says whether it holds
    /// an escape with another way to be written (<c>\u</c>, <c>\/</c>). A member's value has its name as
    /// <paramref name="lead"/> (see <see cref="FoldedText"/>).
    /// </summary>
    private static UInt128 Folded(ReadOnlySpan<byte> s, int start, ReadOnlySpan<byte> lead, out int end, out bool rewrite)
    {
        var text = new FoldedText(lead);
        int j = start;
        while (true)
        {
            bool wide = Avx2.IsSupported && j + 32 <= s.Length;
            if (wide || Ssse3.IsSupported && j + 16 <= s.Length)
            {
                text.Advance(
                    wide
                        ? FoldBlock32(s.Slice(j, 32), text.Free, out int read, out bool ended)
                        : FoldBlock(s.Slice(j, 16), text.Free, out read, out ended)
                );
                j += read;
                if (ended)
                {
                    break;
                }

                // A whole block, or up to non-ASCII text or an escape the block does not take: that below.
                if (read == (wide ? 32 : 16))
                {
                    continue;
                }
            }

            if (s[j] == '"')
            {
                break;
            }

            j = text.Character(s, j);
        }

        end = j;
        rewrite = text.Rewrite;
        return text.Finish();
    }

    /// <summary>
    /// Folds up to 16 bytes of a string's text at once (letters lower-cased, digits kept, the rest dropped, the kept
    /// bytes packed to the front: <see cref="FoldedText.Pack16"/>); the count of bytes written. Short escapes
    /// (<c>\n</c>, <c>\"</c>, ...) are dropped here too. <paramref name="read"/> bytes are taken: the block, or those
    /// before its first non-ASCII byte or escape that needs decoding (<c>\u</c>, <c>\\</c>, <c>\/</c>, or one cut by
    /// the block's end), or before the closing quote (<paramref name="ended"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FoldBlock(ReadOnlySpan<byte> block, Span<byte> output, out int read, out bool ended)
    {
        Vector128<byte> v = Vector128.Create(block);
        uint kept = Kept(
            Vector128.Equals(v, Vector128.Create((byte)'\\')).ExtractMostSignificantBits(),
            Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits(),
            v.ExtractMostSignificantBits(),
            (
                Vector128.Equals(v, Vector128.Create((byte)'u')) | Vector128.Equals(v, Vector128.Create((byte)'/'))
            ).ExtractMostSignificantBits(),
            (
                Vector128.LessThanOrEqual((v | Vector128.Create((byte)0x20)) - Vector128.Create((byte)'a'), Vector128.Create((byte)25))
                | Vector128.LessThanOrEqual(v - Vector128.Create((byte)'0'), Vector128.Create((byte)9))
            ).ExtractMostSignificantBits(),
            16,
            out read,
            out ended
        );
        return FoldedText.Pack16(v, kept, output);
    }

    /// <summary><see cref="FoldBlock"/> over 32 bytes, with AVX2 (<see cref="FoldedText.Pack32"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FoldBlock32(ReadOnlySpan<byte> block, Span<byte> output, out int read, out bool ended)
    {
        Vector256<byte> v = Vector256.Create(block);
        uint kept = Kept(
            Vector256.Equals(v, Vector256.Create((byte)'\\')).ExtractMostSignificantBits(),
            Vector256.Equals(v, Vector256.Create((byte)'"')).ExtractMostSignificantBits(),
            v.ExtractMostSignificantBits(),
            (
                Vector256.Equals(v, Vector256.Create((byte)'u')) | Vector256.Equals(v, Vector256.Create((byte)'/'))
            ).ExtractMostSignificantBits(),
            (
                Vector256.LessThanOrEqual((v | Vector256.Create((byte)0x20)) - Vector256.Create((byte)'a'), Vector256.Create((byte)25))
                | Vector256.LessThanOrEqual(v - Vector256.Create((byte)'0'), Vector256.Create((byte)9))
            ).ExtractMostSignificantBits(),
            32,
            out read,
            out ended
        );
        return FoldedText.Pack32(v, kept, output);
    }

    /// <summary>
    /// Whether <see cref="FoldedText.Pack32"/> packs with AVX-512 VBMI2 where the machine has it; tests turn it off to hold the
    /// compress and the shuffle to the same answers on one machine.
    /// </summary>
    internal static bool CompressBlocks { get; set; } = true;

    /// <summary>
    /// Of a block of <paramref name="width"/> bytes (one bit each): the letters and digits the fold keeps, from the bytes
    /// it takes (see <see cref="FoldBlock"/>) less the short escapes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Kept(
        uint backslash,
        uint quote,
        uint decode,
        uint uOrSlash,
        uint alphanumeric,
        int width,
        out int read,
        out bool ended
    )
    {
        uint all = width == 32 ? uint.MaxValue : (1u << width) - 1;
        if (backslash != 0)
        {
            // A backslash before u, / or another backslash starts an escape decoded below; so does one cut by the end.
            decode |= backslash & (((backslash | uOrSlash) >> 1) | (1u << (width - 1)));
        }

        uint taken = decode == 0 ? all : (1u << BitOperations.TrailingZeroCount(decode)) - 1;
        uint escaped = (backslash << 1) & taken;
        uint closing = quote & ~escaped & taken;
        ended = closing != 0;
        if (ended)
        {
            taken = (1u << BitOperations.TrailingZeroCount(closing)) - 1;
        }

        read = BitOperations.PopCount(taken);
        return alphanumeric & taken & ~(backslash | escaped);
    }

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
        Words.TryHex(digits, 0, out int unit) ? unit : throw new FormatException("Not a \\u escape.");

    private static int SkipWhitespace(ReadOnlySpan<byte> s, int i)
    {
        // Between the tokens of valid JSON, a byte up to a space can only be whitespace.
        while (i < s.Length && s[i] <= ' ')
            i++;
        return i;
    }

    /// <summary>A 128-bit hash as a 64-bit salt for <see cref="Mix"/> (its halves xored).</summary>
    internal static ulong Salt(UInt128 hash) => (ulong)hash ^ (ulong)(hash >> 64);

    /// <summary>
    /// A 16-byte value mixed with a salt into a 128-bit hash: each half a multiply-fold (as in wyhash) of both halves of
    /// the input. Members, items and short strings are mixed this way rather than by
    /// <see cref="XxHash128"/>, whose set-up per call took about 6% of validating a typical file.
    /// </summary>
    internal static UInt128 Mix(UInt128 value, ulong salt)
    {
        ulong low = (ulong)value,
            high = (ulong)(value >> 64);
        ulong a = Fold(low ^ 0xA0761D6478BD642FUL, high ^ salt ^ 0xE7037ED1A0B428DBUL);
        ulong b = Fold(high ^ 0x8EBC6AF09C88C6E3UL, low ^ salt ^ 0x589965CC75374CC3UL);
        return new UInt128(a, b);

        static ulong Fold(ulong x, ulong y)
        {
            ulong upper = Math.BigMul(x, y, out ulong lower);
            return upper ^ lower;
        }
    }

    /// <summary>Bytes hashed with a seed: up to 16 packed with their count and mixed (<see cref="Mix"/>), longer by XxHash128.</summary>
    internal static UInt128 Bytes(ReadOnlySpan<byte> bytes, long seed)
    {
        if (bytes.Length > 16)
        {
            // Past 240 bytes XxHash128 derives a secret from a seed on every call: there the seed is mixed in after.
            return bytes.Length <= 240 ? XxHash128.HashToUInt128(bytes, seed) : Mix(XxHash128.HashToUInt128(bytes), (ulong)seed);
        }

        // Up to 16 bytes as a little-endian number, zero-padded.
        UInt128 packed =
            bytes.Length > 8 ? new UInt128(Words.Padded(bytes[8..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes)) : Words.Padded(bytes);
        return Mix(packed, unchecked((ulong)seed * 0x100 + (ulong)bytes.Length));
    }
}

using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
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

    /// <summary>The canonical hash of one valid JSON value.</summary>
    public static UInt128 Hash(ReadOnlySpan<byte> json)
    {
        int i = 0;
        return Value(json, ref i);
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

    private static UInt128 Value(ReadOnlySpan<byte> s, ref int i)
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
                    sum += Member(name, Value(s, ref i));
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

                    chain = Mix(Value(s, ref i), (ulong)chain ^ (ulong)(chain >> 64));
                }
            }

            case (byte)'"':
                return String(s, ref i);
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

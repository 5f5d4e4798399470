using System.Runtime.CompilerServices;

namespace FineTuning.Core.Tokens;

/// <summary>
/// A fast, allocation-free approximation of the o200k/cl100k byte-pair encoders, modelled on their pre-tokenizer
/// (which splits text into words, numbers, punctuation and whitespace before merging bytes):
/// <list type="bullet">
/// <item>a run of ASCII letters (with the single space before it) is one token per 8 letters, rounded up (common words are one token, long ones split);</item>
/// <item>a run of digits is one token per 3 digits, rounded up (the encoders group digits by three);</item>
/// <item>a run of punctuation or symbols is one token per 2 characters, rounded up;</item>
/// <item>a run of line breaks or tabs, or of two or more spaces, is one token;</item>
/// <item>outside ASCII: half a token per 2-byte character (Latin, Greek, Cyrillic, Hebrew, Arabic), one per 3-byte
/// character (CJK and most other scripts), two per 4-byte character (emoji); a <c>\uXXXX</c> escape counts as one.</item>
/// </list>
/// The exact encoders are not available in this workplace's package mirror, so the figures are estimates; they are
/// meant to be within the range where limits and costs can be judged, not to match the provider's bill exactly.
/// </summary>
public sealed class ApproximateTokenEstimator : ITokenEstimator
{
    public static ApproximateTokenEstimator Instance { get; } = new();

    private const byte Other = 0, Letter = 1, Digit = 2, Space = 3, Break = 4, Punct = 5, Escape = 6, Lead2 = 7, Lead3 = 8, Lead4 = 9, Cont = 10;

    private static readonly byte[] Classes = BuildClasses();

    public string Name => "approx-o200k";

    public int CountEscaped(ReadOnlySpan<byte> escapedUtf8)
    {
        ReadOnlySpan<byte> s = escapedUtf8;
        ReadOnlySpan<byte> classes = Classes;
        int half = 0; // half-tokens
        int i = 0, n = s.Length;
        while (i < n)
        {
            byte c = classes[s[i]];
            switch (c)
            {
                case Letter:
                {
                    int start = i;
                    while (++i < n && IsLetter(s[i]))
                    {
                    }

                    half += ((i - start + 7) / 8) * 2;
                    break;
                }

                case Digit:
                {
                    int start = i;
                    while (++i < n && classes[s[i]] == Digit)
                    {
                    }

                    half += ((i - start + 2) / 3) * 2;
                    break;
                }

                case Space:
                {
                    // The common case first: one space, then a word.
                    if (i + 1 < n && IsLetter(s[i + 1]))
                    {
                        int word = ++i;
                        while (++i < n && IsLetter(s[i]))
                        {
                        }

                        half += ((i - word + 7) / 8) * 2;
                        break;
                    }

                    int start = i;
                    while (++i < n && s[i] == (byte)' ')
                    {
                    }

                    // One space joins the word that follows; longer runs are a token of their own.
                    if (i - start > 1 || i == n)
                    {
                        half += 2;
                    }

                    break;
                }

                case Break:
                    half += 2;
                    i = SkipBreaks(s, i);
                    break;

                case Escape:
                    if (i + 1 >= n)
                    {
                        half += 2;
                        i = n;
                        break;
                    }

                    switch (s[i + 1])
                    {
                        case (byte)'n' or (byte)'r' or (byte)'t':
                            half += 2;
                            i = SkipBreaks(s, i);
                            break;
                        case (byte)'u':
                            half += 2;
                            i += 6;
                            break;
                        default:
                            i = SkipPunct(s, i, ref half);
                            break;
                    }

                    break;

                case Punct:
                    i = SkipPunct(s, i, ref half);
                    break;

                case Lead2:
                    half += 1;
                    i += 2;
                    break;

                case Lead3:
                    half += 2;
                    i += 3;
                    break;

                case Lead4:
                    half += 4;
                    i += 4;
                    break;

                default: // stray continuation bytes and control characters
                    half += 2;
                    i++;
                    break;
            }
        }

        return (half + 1) / 2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsLetter(byte b) => (uint)((b | 0x20) - 'a') < 26;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipBreaks(ReadOnlySpan<byte> s, int i)
    {
        int n = s.Length;
        while (i < n)
        {
            byte b = s[i];
            if (b is (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                i++;
            }
            else if (b == (byte)'\\' && i + 1 < n && s[i + 1] is (byte)'n' or (byte)'r' or (byte)'t')
            {
                i += 2;
            }
            else
            {
                break;
            }
        }

        return i;
    }

    private static int SkipPunct(ReadOnlySpan<byte> s, int i, ref int half)
    {
        ReadOnlySpan<byte> classes = Classes;
        int n = s.Length;
        int chars = 0;
        while (i < n)
        {
            byte c = classes[s[i]];
            if (c == Punct)
            {
                i++;
                chars++;
            }
            else if (c == Escape && i + 1 < n && s[i + 1] is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f')
            {
                i += 2;
                chars++;
            }
            else
            {
                break;
            }
        }

        if (chars == 0)
        {
            // A lone backslash that escapes nothing we know: count it and move on.
            chars = 1;
            i++;
        }

        half += ((chars + 1) / 2) * 2;
        return i;
    }

    private static byte[] BuildClasses()
    {
        var t = new byte[256];
        for (int b = 0; b < 256; b++)
        {
            t[b] = b switch
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
            };
        }

        return t;
    }
}

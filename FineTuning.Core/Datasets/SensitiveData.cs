using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FineTuning.Core.Datasets;

/// <summary>A kind of sensitive data <see cref="SensitiveData"/> looks for, as reports name it.</summary>
public static class SensitiveKinds
{
    public const string Email = "email";
    public const string Phone = "phone";
    public const string PaymentCard = "payment_card";
    public const string Iban = "iban";
    public const string Secret = "secret";

    /// <summary>The kind in words, for a finding's message.</summary>
    public static string Describe(string kind) =>
        kind switch
        {
            Email => "an e-mail address",
            Phone => "a phone number",
            PaymentCard => "a payment card number (it passes the Luhn check)",
            Iban => "an IBAN (it passes the mod-97 check)",
            _ => "a secret (an API key, a token or a private key)",
        };
}

/// <summary>One match: its kind, where it starts in the row, and a masked form that never shows the value in full.</summary>
public readonly record struct SensitiveMatch(string Kind, int Offset, string Masked);

/// <summary>
/// Finds what looks like personal or secret data in a row's raw JSON text: e-mail addresses, phone numbers in
/// international or North American form, payment card numbers (13 to 19 digits that pass the Luhn check), IBANs (that
/// pass the mod-97 check) and API keys or tokens of well-known shapes (OpenAI <c>sk-</c>, AWS <c>AKIA</c>, GitHub
/// <c>ghp_</c>/<c>github_pat_</c>, Slack <c>xox?-</c>, Google <c>AIza</c>, PEM private keys). Each check starts from a
/// byte the value must contain (<c>@</c>, a digit, a key's prefix), found in one vectorized scan of the row, so rows without any
/// cost little. Heuristic by nature: a match is a warning to look, not a verdict.
/// </summary>
public static class SensitiveData
{
    private static readonly SearchValues<byte> EmailLocal = SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-"u8
    );
    private static readonly SearchValues<byte> EmailDomain = SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"u8
    );
    private static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"u8
    );

    private static readonly SearchValues<byte> KeyPunctuation = SearchValues.Create("-_"u8);

    private static readonly (byte[] Prefix, int MinBody, string Name)[] Keys =
    [
        ("sk-"u8.ToArray(), 32, "OpenAI-style key"),
        ("AKIA"u8.ToArray(), 16, "AWS access key"),
        ("ghp_"u8.ToArray(), 30, "GitHub token"),
        ("github_pat_"u8.ToArray(), 30, "GitHub token"),
        ("xoxb-"u8.ToArray(), 20, "Slack token"),
        ("xoxp-"u8.ToArray(), 20, "Slack token"),
        ("AIza"u8.ToArray(), 35, "Google API key"),
        ("-----BEGIN"u8.ToArray(), 0, "private key"),
    ];

    /// <summary>Where each prefix holds its first <c>-</c> or <c>_</c> (-1: it holds neither).</summary>
    private static readonly int[] KeyAnchors = [.. Keys.Select(k => k.Prefix.AsSpan().IndexOfAny(KeyPunctuation))];

    /// <summary>
    /// The bytes the one scan of a row stops at, those every match must hold: a digit (cards, phones, IBANs), <c>@</c>,
    /// <c>-</c> and <c>_</c> (which all key prefixes but two hold), and the first byte of those two.
    /// </summary>
    private static readonly SearchValues<byte> Stops = SearchValues.Create([
        .. "0123456789@-_"u8,
        .. Keys.Where((_, k) => KeyAnchors[k] < 0).Select(key => key.Prefix[0]),
    ]);

    /// <summary>Every match in <paramref name="row"/>, in order of where it starts (no allocation for a row without any).</summary>
    /// <remarks>
    /// One scan: it stops at the bytes in <see cref="Stops"/> and hands each to its check. A run of digits is read whole,
    /// and the scan goes on past it: digits, single spaces and dashes hold no <c>@</c> and start no key.
    /// </remarks>
    public static IReadOnlyList<SensitiveMatch> Find(ReadOnlySpan<byte> row)
    {
        List<SensitiveMatch>? found = null;
        Span<int> keysFrom = stackalloc int[Keys.Length];
        keysFrom.Clear();
        Span<byte> digits = stackalloc byte[MaxDigits];
        Span<int> groups = stackalloc int[MaxDigits];
        int numbersFrom = 0;
        for (int i = row.IndexOfAny(Stops); i >= 0; )
        {
            byte b = row[i];
            int next = i + 1;
            if (char.IsAsciiDigit((char)b))
            {
                if (i >= numbersFrom)
                    (next, numbersFrom) = Number(row, i, digits, groups, ref found);
            }
            else if (b == '@')
            {
                Email(row, i, ref found);
            }
            else
            {
                Key(row, i, keysFrom, ref found);
            }

            int stop = row[next..].IndexOfAny(Stops);
            i = stop < 0 ? -1 : next + stop;
        }

        if (found is null)
        {
            return [];
        }

        // Where two start at the same byte (an address whose name is a key), an address first, then a number, then a key.
        found.Sort((a, b) => a.Offset != b.Offset ? a.Offset.CompareTo(b.Offset) : Rank(a.Kind).CompareTo(Rank(b.Kind)));
        return found;
    }

    private static int Rank(string kind) =>
        kind switch
        {
            SensitiveKinds.Email => 0,
            SensitiveKinds.Secret => 2,
            _ => 1,
        };

    /// <summary>The JSON path of the string value that holds byte <paramref name="offset"/> of <paramref name="row"/>.</summary>
    public static string PathAt(ReadOnlySpan<byte> row, int offset)
    {
        var reader = new Utf8JsonReader(row);
        var path = new List<string>();
        var index = new List<int>();
        string? pendingName = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        pendingName = reader.GetString();
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        Push();
                        index.Add(reader.TokenType == JsonTokenType.StartArray ? 0 : -1);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        index.RemoveAt(index.Count - 1);
                        Advance();
                        break;
                    default:
                        if (reader.TokenStartIndex <= offset && offset < reader.BytesConsumed)
                        {
                            Push();
                            return string.Concat(path.Skip(1));
                        }

                        pendingName = null;
                        Advance();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // The row is known to be valid; should it not be, the path is unknown.
        }

        return "";

        void Push()
        {
            if (pendingName is not null)
                path.Add(path.Count <= 1 ? pendingName : "." + pendingName);
            else
                path.Add(index.Count > 0 && index[^1] >= 0 ? $"[{index[^1]}]" : "");
            pendingName = null;
        }

        void Advance()
        {
            if (index.Count > 0 && index[^1] >= 0)
                index[^1]++;
        }
    }

    /// <summary>The e-mail address around the <c>@</c> at <paramref name="at"/>, if it is one.</summary>
    private static void Email(ReadOnlySpan<byte> row, int at, ref List<SensitiveMatch>? found)
    {
        int start = at;
        while (start > 0 && EmailLocal.Contains(row[start - 1]))
            start--;
        int end = at + 1;
        while (end < row.Length && EmailDomain.Contains(row[end]))
            end++;
        while (end > at + 1 && row[end - 1] is (byte)'.' or (byte)'-')
            end--;
        ReadOnlySpan<byte> domain = row[(at + 1)..end];
        int dot = domain.LastIndexOf((byte)'.');
        if (start < at && dot > 0 && domain.Length - dot - 1 >= 2 && IsLetters(domain[(dot + 1)..]))
        {
            (found ??= []).Add(new(SensitiveKinds.Email, start, $"{(char)row[start]}***@{Encoding.UTF8.GetString(domain)}"));
        }
    }

    // The most digits a run is read for: an IBAN holds up to 30 after its country, a card 19, a phone 15.
    private const int MaxDigits = 40;

    /// <summary>
    /// The run of digits from <paramref name="start"/> (single spaces or dashes between groups): a payment card, a phone
    /// number or an IBAN, if it is one. Returns where the run ends, and where the next run may start (past an IBAN).
    /// </summary>
    private static (int RunEnd, int Next) Number(
        ReadOnlySpan<byte> row,
        int start,
        Span<byte> digits,
        Span<int> groups,
        ref List<SensitiveMatch>? found
    )
    {
        int count = 0,
            end = start,
            groupCount = 1;
        groups[0] = 0;
        // Digits, with single separators between groups, as long as it could be a card, a phone or an IBAN.
        while (end < row.Length && count < digits.Length)
        {
            byte b = row[end];
            if (char.IsAsciiDigit((char)b))
            {
                digits[count++] = b;
                groups[groupCount - 1]++;
                end++;
            }
            else if (b is (byte)' ' or (byte)'-' && end + 1 < row.Length && char.IsAsciiDigit((char)row[end + 1]) && end > start)
            {
                groups[groupCount++] = 0;
                end++;
            }
            else
            {
                break;
            }
        }

        int runEnd = end;
        // Not inside a word (an escape such as \n before it is a boundary too).
        bool alone = start == 0 || !char.IsAsciiLetterOrDigit((char)row[start - 1]) || start >= 2 && row[start - 2] == '\\';
        bool plus = start > 0 && row[start - 1] == '+';
        if (Iban(row, start) is { } iban)
        {
            (found ??= []).Add(new(SensitiveKinds.Iban, start - 2, Mask(iban)));
            end = Math.Max(end, start - 2 + iban.Length);
        }
        else if (alone && count is >= 13 and <= 19 && CardGroups(groups[..groupCount]) && Luhn(digits[..count]))
        {
            (found ??= []).Add(new(SensitiveKinds.PaymentCard, start, Mask(Encoding.ASCII.GetString(digits[..count]))));
        }
        else if (alone && (plus && count is >= 8 and <= 15 || NorthAmerican(row, start, end)))
        {
            (found ??= []).Add(
                new(SensitiveKinds.Phone, plus ? start - 1 : start, Mask((plus ? "+" : "") + Encoding.ASCII.GetString(digits[..count])))
            );
        }

        return (runEnd, end);
    }

    /// <summary>
    /// How card numbers are written: one run of digits, groups of 4 (the last may be shorter), or 4-6-5 (American Express).
    /// Other groupings (numbers in a sentence, a date and a count) are not a card.
    /// </summary>
    private static bool CardGroups(ReadOnlySpan<int> groups)
    {
        if (groups.Length == 1 || groups is [4, 6, 5])
            return true;
        for (int g = 0; g < groups.Length - 1; g++)
        {
            if (groups[g] != 4)
                return false;
        }

        return groups[^1] is >= 1 and <= 4;
    }

    /// <summary><c>(555) 123-4567</c>, <c>555-123-4567</c> or <c>555 123 4567</c>: groups of 3, 3 and 4 digits.</summary>
    private static bool NorthAmerican(ReadOnlySpan<byte> row, int start, int end)
    {
        ReadOnlySpan<byte> text = row[start..end];
        if (text.Length == 12 && text[3] == text[7] && text[3] is (byte)'-' or (byte)' ')
            return true;
        // "(555) 123-4567": the run found starts after "(555) ".
        return start >= 6
            && row[start - 6] == '('
            && row[start - 2] == ')'
            && row[start - 1] == ' '
            && text.Length == 8
            && text[3] == '-'
            && row.Slice(start - 5, 3).IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
    }

    /// <summary>
    /// An IBAN starting 2 bytes before <paramref name="digitStart"/> (country letters, check digits, then up to 30 letters
    /// or digits, spaces every 4), when its mod-97 check holds.
    /// </summary>
    private static string? Iban(ReadOnlySpan<byte> row, int digitStart)
    {
        if (digitStart < 2 || !char.IsAsciiLetterUpper((char)row[digitStart - 2]) || !char.IsAsciiLetterUpper((char)row[digitStart - 1]))
            return null;
        if (digitStart > 2 && char.IsAsciiLetterOrDigit((char)row[digitStart - 3]))
            return null;
        var text = new StringBuilder();
        int i = digitStart - 2;
        while (i < row.Length && text.Length < 34)
        {
            byte b = row[i];
            if (char.IsAsciiLetterUpper((char)b) || char.IsAsciiDigit((char)b))
            {
                text.Append((char)b);
                i++;
            }
            else if (b == ' ' && i + 1 < row.Length && (char.IsAsciiLetterUpper((char)row[i + 1]) || char.IsAsciiDigit((char)row[i + 1])))
            {
                i++;
            }
            else
            {
                break;
            }
        }

        string iban = text.ToString();
        if (iban.Length < 15 || !char.IsAsciiDigit(iban[2]) || !char.IsAsciiDigit(iban[3]))
            return null;
        int remainder = 0;
        foreach (char c in iban[4..] + iban[..4])
        {
            int value = char.IsAsciiDigit(c) ? c - '0' : c - 'A' + 10;
            remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
        }

        return remainder == 1 ? iban : null;
    }

    private static bool Luhn(ReadOnlySpan<byte> digits)
    {
        int sum = 0;
        for (int i = 0; i < digits.Length; i++)
        {
            int d = digits[digits.Length - 1 - i] - '0';
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9)
                    d -= 9;
            }

            sum += d;
        }

        return sum % 10 == 0 && digits.IndexOfAnyExcept((byte)'0') >= 0;
    }

    /// <summary>
    /// The keys whose prefix holds the <c>-</c> or <c>_</c> at <paramref name="i"/> (each checked where that byte sits in
    /// it), or starts at <paramref name="i"/> for the two that hold neither. A prefix is looked for again only past the
    /// token found at its last place (<paramref name="from"/>), as one search per prefix would.
    /// </summary>
    private static void Key(ReadOnlySpan<byte> row, int i, Span<int> from, ref List<SensitiveMatch>? found)
    {
        bool punctuation = row[i] is (byte)'-' or (byte)'_';
        for (int k = 0; k < Keys.Length; k++)
        {
            int anchor = KeyAnchors[k];
            int at = punctuation ? i - anchor : i;
            if ((anchor >= 0) == punctuation && at >= from[k] && row[at..].StartsWith(Keys[k].Prefix))
                from[k] = Secret(row, at, k, ref found);
        }
    }

    /// <summary>
    /// The key of kind <paramref name="k"/> whose prefix is at <paramref name="at"/>, if it is one; returns where its token
    /// ends.
    /// </summary>
    private static int Secret(ReadOnlySpan<byte> row, int at, int k, ref List<SensitiveMatch>? found)
    {
        (byte[] prefix, int minBody, string name) = Keys[k];
        int bodyStart = at + prefix.Length;
        int body = row[bodyStart..].IndexOfAnyExcept(TokenChars);
        body = body < 0 ? row.Length - bodyStart : body;
        bool boundary = at == 0 || !TokenChars.Contains(row[at - 1]);
        if (boundary && (minBody == 0 ? row[bodyStart..].StartsWith(" "u8) || row[bodyStart..].StartsWith("-"u8) : body >= minBody))
        {
            (found ??= []).Add(new(SensitiveKinds.Secret, at, $"{name} {Encoding.ASCII.GetString(prefix)}…"));
        }

        return bodyStart + Math.Max(body, 0);
    }

    private static bool IsLetters(ReadOnlySpan<byte> text)
    {
        foreach (byte b in text)
        {
            if (!char.IsAsciiLetter((char)b))
                return false;
        }

        return true;
    }

    /// <summary>The first two and last two characters, the rest as <c>*</c>: enough to find it, not enough to use it.</summary>
    private static string Mask(string value) =>
        value.Length <= 6 ? new string('*', value.Length) : value[..2] + new string('*', value.Length - 4) + value[^2..];
}

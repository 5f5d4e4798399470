using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;

namespace FineTuning.Core.Datasets;

/// <summary>
/// A forward reader of one JSONL row, with the members of <see cref="Utf8JsonReader"/> the validator uses and the same
/// tokens, positions and verdicts (a test holds it to that over real rows and their mutants), but faster on the text
/// of a training row: a string is crossed by vector search from escape to escape, where <see cref="Utf8JsonReader"/>
/// goes byte by byte from a string's first escape to its end (a quarter of validating a typical file).
/// </summary>
/// <remarks>
/// Reads valid UTF-8 only (the validator checks each row first); throws <see cref="JsonException"/> on the first
/// byte that is not JSON, without <see cref="Utf8JsonReader"/>'s wording: the validator reads a row it rejects again
/// with <see cref="Utf8JsonReader"/> for the message. Comments and trailing commas are not JSON here either.
/// </remarks>
internal ref struct JsonRowReader
{
    /// <summary>The deepest nesting of objects and lists, as <see cref="JsonReaderOptions.MaxDepth"/>.</summary>
    public const int MaxDepth = 64;

    // What ends a run of plain string text: its closing quote, an escape, or a control character (not allowed in JSON).
    private static readonly SearchValues<byte> StringSpecial = SearchValues.Create([
        .. Enumerable.Range(0, 0x20).Select(b => (byte)b),
        (byte)'"',
        (byte)'\\',
    ]);

    private readonly ReadOnlySpan<byte> _json;
    private int _consumed;
    private int _tokenStart;
    private int _valueStart;
    private int _valueLength;
    private int _depth;
    private ulong _objects; // bit d - 1 set: the container at depth d is an object
    private JsonTokenType _tokenType;
    private bool _escaped;

    public JsonRowReader(ReadOnlySpan<byte> json)
    {
        _json = json;
    }

    public readonly JsonTokenType TokenType => _tokenType;

    /// <summary>A string's or name's text as written (between the quotes, escapes kept), or a number's or literal's bytes.</summary>
    public readonly ReadOnlySpan<byte> ValueSpan => _json.Slice(_valueStart, _valueLength);

    /// <summary>True when the string or name holds an escape (<c>\n</c>, <c>\u00e9</c>, ...).</summary>
    public readonly bool ValueIsEscaped => _escaped;

    /// <summary>Where the token starts: a string's or name's opening quote.</summary>
    public readonly long TokenStartIndex => _tokenStart;

    /// <summary>The bytes read so far: past the token (and past a name's colon).</summary>
    public readonly long BytesConsumed => _consumed;

    /// <summary>The nesting of the token, as <see cref="Utf8JsonReader.CurrentDepth"/>.</summary>
    public readonly int CurrentDepth => _tokenType is JsonTokenType.StartObject or JsonTokenType.StartArray ? _depth - 1 : _depth;

    /// <summary>The row read.</summary>
    public readonly ReadOnlySpan<byte> Row => _json;

    /// <summary>On a property name: where its value starts (its first byte after whitespace).</summary>
    public readonly int NextValueIndex => SkipWhitespace(_consumed);

    /// <summary>
    /// On a property name: reads its value, a string whose opening quote is at <paramref name="quote"/> and whose text,
    /// <paramref name="length"/> bytes, was read and found valid by the caller (escapes as JSON has them, no control
    /// character, a closing quote after it): the reader is then on that string as if it had read it itself.
    /// </summary>
    public void TakeString(int quote, int length, bool escaped)
    {
        if (_tokenType != JsonTokenType.PropertyName || _json[quote] != '"' || _json[quote + length + 1] != '"')
        {
            throw new InvalidOperationException("Not a string value after a property name.");
        }

        _tokenStart = quote;
        _valueStart = quote + 1;
        _valueLength = length;
        _consumed = quote + length + 2;
        _escaped = escaped;
        _tokenType = JsonTokenType.String;
    }

    /// <summary>Reads the next token; false at the end of the row (after its one value).</summary>
    public bool Read()
    {
        int i = SkipWhitespace(_consumed);
        _escaped = false;
        switch (_tokenType)
        {
            case JsonTokenType.None:
                if (i >= _json.Length)
                {
                    throw Error(i, "the row holds no JSON value");
                }

                ReadValue(i);
                return true;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                // Empty, or the first member or item.
                bool inObject = _tokenType == JsonTokenType.StartObject;
                if (i < _json.Length && _json[i] == (inObject ? '}' : ']'))
                {
                    EndContainer(i, inObject ? JsonTokenType.EndObject : JsonTokenType.EndArray);
                }
                else if (inObject)
                {
                    ReadPropertyName(i);
                }
                else
                {
                    ReadValue(i);
                }

                return true;
            case JsonTokenType.PropertyName:
                ReadValue(i);
                return true;
            default:
                return ReadAfterValue(i);
        }
    }

    /// <summary>
    /// Skips what the token opens: a name's value, or an object or list to its end (the reader is then on its closing
    /// token); nothing for a scalar.
    /// </summary>
    public void Skip()
    {
        if (_tokenType == JsonTokenType.PropertyName)
        {
            Read();
        }

        if (_tokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            int outside = _depth - 1;
            while (Read() && _depth > outside) { }
        }
    }

    /// <summary>True when the string's or name's text, unescaped, is <paramref name="text"/>.</summary>
    public readonly bool ValueTextEquals(ReadOnlySpan<byte> text)
    {
        if (_tokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
        {
            return false;
        }

        if (!_escaped)
        {
            return ValueSpan.SequenceEqual(text);
        }

        Utf8JsonReader token = Token();
        return token.ValueTextEquals(text);
    }

    /// <summary>The string's or name's text, unescaped; null for a JSON null.</summary>
    public readonly string? GetString()
    {
        switch (_tokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String or JsonTokenType.PropertyName:
                if (!_escaped)
                {
                    return Encoding.UTF8.GetString(ValueSpan);
                }

                Utf8JsonReader token = Token();
                return token.GetString();
            default:
                throw new InvalidOperationException($"Cannot get the value of a token type '{_tokenType}' as a string.");
        }
    }

    /// <summary>The number as an <see cref="int"/>, when it is one that fits.</summary>
    public readonly bool TryGetInt32(out int value)
    {
        if (_tokenType != JsonTokenType.Number)
        {
            throw new InvalidOperationException($"Cannot get the value of a token type '{_tokenType}' as a number.");
        }

        Utf8JsonReader token = Token();
        return token.TryGetInt32(out value);
    }

    /// <summary>
    /// The token alone, read by <see cref="Utf8JsonReader"/>: what is rarely asked (escaped text, numbers) it answers.
    /// </summary>
    private readonly Utf8JsonReader Token()
    {
        // A string or name with its quotes.
        int quotes = _tokenType is JsonTokenType.String or JsonTokenType.PropertyName ? 1 : 0;
        var reader = new Utf8JsonReader(_json.Slice(_valueStart - quotes, _valueLength + (2 * quotes)));
        reader.Read();
        return reader;
    }

    private bool ReadAfterValue(int i)
    {
        if (_depth == 0)
        {
            return i >= _json.Length ? false : throw Error(i, "more follows the row's value");
        }

        if (i >= _json.Length)
        {
            throw Error(i, "the row ends inside an object or list");
        }

        bool inObject = (_objects & (1UL << (_depth - 1))) != 0;
        switch (_json[i])
        {
            case (byte)',':
                i = SkipWhitespace(i + 1);
                if (inObject)
                {
                    ReadPropertyName(i);
                }
                else
                {
                    ReadValue(i);
                }

                return true;
            case (byte)'}' when inObject:
                EndContainer(i, JsonTokenType.EndObject);
                return true;
            case (byte)']' when !inObject:
                EndContainer(i, JsonTokenType.EndArray);
                return true;
            default:
                throw Error(i, "expected a comma or the end of the object or list");
        }
    }

    private void ReadValue(int i)
    {
        if (i >= _json.Length)
        {
            throw Error(i, "expected a value");
        }

        _tokenStart = i;
        switch (_json[i])
        {
            case (byte)'"':
                _consumed = ReadString(i) + 1;
                _tokenType = JsonTokenType.String;
                return;
            case (byte)'{':
                StartContainer(i, JsonTokenType.StartObject);
                return;
            case (byte)'[':
                StartContainer(i, JsonTokenType.StartArray);
                return;
            case (byte)'t':
                ReadLiteral(i, "true"u8, JsonTokenType.True);
                return;
            case (byte)'f':
                ReadLiteral(i, "false"u8, JsonTokenType.False);
                return;
            case (byte)'n':
                ReadLiteral(i, "null"u8, JsonTokenType.Null);
                return;
            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                ReadNumber(i);
                return;
            default:
                throw Error(i, "expected a value");
        }
    }

    private void ReadPropertyName(int i)
    {
        if (i >= _json.Length || _json[i] != '"')
        {
            throw Error(i, "expected a property name in quotes");
        }

        _tokenStart = i;
        int end = ReadString(i);
        int colon = SkipWhitespace(end + 1);
        if (colon >= _json.Length || _json[colon] != ':')
        {
            throw Error(colon, "expected a colon after the property name");
        }

        _consumed = colon + 1;
        _tokenType = JsonTokenType.PropertyName;
    }

    /// <summary>Reads the string whose opening quote is at <paramref name="quote"/>; returns its closing quote.</summary>
    private int ReadString(int quote)
    {
        int j = quote + 1;
        while (true)
        {
            int k = SpecialAt(j);
            if (k < 0)
            {
                throw Error(_json.Length, "the string does not end");
            }

            j += k;
            byte b = _json[j];
            if (b == '"')
            {
                break;
            }

            if (b != '\\')
            {
                throw Error(j, "a control character must be escaped in a string");
            }

            _escaped = true;
            j = Escape(j);
        }

        _valueStart = quote + 1;
        _valueLength = j - quote - 1;
        return j;
    }

    /// <summary>
    /// How far from <paramref name="j"/> the next quote, backslash or control character is, or -1. Most strings (names,
    /// roles) end within 16 bytes: one vector compare before the search.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int SpecialAt(int j)
    {
        if (j + 16 <= _json.Length)
        {
            Vector128<byte> v = Vector128.Create(_json.Slice(j, 16));
            uint special = (
                Vector128.Equals(v, Vector128.Create((byte)'"'))
                | Vector128.Equals(v, Vector128.Create((byte)'\\'))
                | Vector128.LessThan(v, Vector128.Create((byte)0x20))
            ).ExtractMostSignificantBits();
            if (special != 0)
            {
                return BitOperations.TrailingZeroCount(special);
            }

            int k = _json[(j + 16)..].IndexOfAny(StringSpecial);
            return k < 0 ? -1 : k + 16;
        }

        return _json[j..].IndexOfAny(StringSpecial);
    }

    /// <summary>Checks the escape whose backslash is at <paramref name="j"/>; returns where the text goes on.</summary>
    private readonly int Escape(int j)
    {
        if (j + 1 >= _json.Length)
        {
            throw Error(j, "the string does not end");
        }

        switch (_json[j + 1])
        {
            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                return j + 2;
            case (byte)'u':
                for (int h = j + 2; h < j + 6; h++)
                {
                    if (h >= _json.Length || !char.IsAsciiHexDigit((char)_json[h]))
                    {
                        throw Error(h, "\\u must be followed by four hexadecimal digits");
                    }
                }

                return j + 6;
            default:
                throw Error(j + 1, "not an escape in a string");
        }
    }

    private void ReadLiteral(int i, ReadOnlySpan<byte> literal, JsonTokenType type)
    {
        if (!_json[i..].StartsWith(literal))
        {
            throw Error(i, "expected a value");
        }

        _valueStart = i;
        _valueLength = literal.Length;
        _consumed = i + literal.Length;
        _tokenType = type;
        EnsureDelimiter(_consumed);
    }

    /// <summary>Reads a number: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>, then a delimiter.</summary>
    private void ReadNumber(int i)
    {
        int j = i;
        if (_json[j] == '-')
        {
            j++;
        }

        if (j < _json.Length && _json[j] == '0')
        {
            j++;
        }
        else
        {
            j = Digits(j);
        }

        if (j < _json.Length && _json[j] == '.')
        {
            j = Digits(j + 1);
        }

        if (j < _json.Length && (_json[j] | 0x20) == 'e')
        {
            j++;
            if (j < _json.Length && _json[j] is (byte)'+' or (byte)'-')
            {
                j++;
            }

            j = Digits(j);
        }

        _valueStart = i;
        _valueLength = j - i;
        _consumed = j;
        _tokenType = JsonTokenType.Number;
        EnsureDelimiter(j);
    }

    /// <summary>At least one digit at <paramref name="j"/>; returns past the last.</summary>
    private readonly int Digits(int j)
    {
        int start = j;
        while (j < _json.Length && char.IsAsciiDigit((char)_json[j]))
        {
            j++;
        }

        return j > start ? j : throw Error(j, "expected a digit in the number");
    }

    /// <summary>A number or literal ends the row, or is followed by whitespace, a comma or a closing bracket.</summary>
    private readonly void EnsureDelimiter(int j)
    {
        if (
            j < _json.Length
            && _json[j] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)',' or (byte)'}' or (byte)']')
        )
        {
            throw Error(j, "the value is followed by something that is not JSON");
        }
    }

    private void StartContainer(int i, JsonTokenType type)
    {
        if (_depth >= MaxDepth)
        {
            throw Error(i, $"nested more than {MaxDepth} deep");
        }

        _depth++;
        ulong bit = 1UL << (_depth - 1);
        _objects = type == JsonTokenType.StartObject ? _objects | bit : _objects & ~bit;
        _valueStart = i;
        _valueLength = 1;
        _consumed = i + 1;
        _tokenType = type;
    }

    private void EndContainer(int i, JsonTokenType type)
    {
        _depth--;
        _tokenStart = i;
        _valueStart = i;
        _valueLength = 1;
        _consumed = i + 1;
        _tokenType = type;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int SkipWhitespace(int i)
    {
        while (i < _json.Length && _json[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    private static JsonException Error(int position, string message) => new(message, null, 0, position);
}

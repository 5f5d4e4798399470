using System.Text;
using System.Text.Json;
using FineTuning.Core.Datasets;

namespace FineTuning.Tests.Datasets;

/// <summary>
/// The validator's own row reader reads as <see cref="Utf8JsonReader"/> does: the same tokens at the same positions, the
/// same text, and an error on exactly the rows it rejects, over every row of the real datasets and of the samples and
/// over many mutants of them (bytes deleted, doubled, or replaced by what JSON is made of).
/// </summary>
public class JsonRowReaderTests
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = JsonRowReader.MaxDepth };

    private static IEnumerable<byte[]> RealRows()
    {
        string real = Path.Combine(AppContext.BaseDirectory, "Datasets", "real");
        string samples = Repo.File("samples");
        foreach (string file in Directory.GetFiles(real, "*.jsonl").Concat(Directory.GetFiles(samples, "*.jsonl")).Order())
        {
            foreach (string line in File.ReadLines(file))
            {
                if (!string.IsNullOrWhiteSpace(line))
                    yield return Encoding.UTF8.GetBytes(line);
            }
        }
    }

    [Fact]
    public void RealRows_ReadAsUtf8JsonReaderReadsThem()
    {
        int rows = 0,
            rejected = 0;
        foreach (byte[] row in RealRows())
        {
            rows++;
            rejected += AssertSameReading(row) ? 0 : 1;
        }

        Assert.True(rows > 1000, $"{rows} rows");
        Assert.True(rejected > 0, "the invalid datasets hold rows that are not JSON");
    }

    [Fact]
    public void Mutants_ReadAsUtf8JsonReaderReadsThem()
    {
        var random = new Random(20261206);
        byte[][] rows = [.. RealRows().Where(r => r.Length < 4000)];
        byte[] pieces = "{}[]\":,\\ \t\r\n-+.0123456789eEtrufalsn/bx\u0001"u8.ToArray();
        int accepted = 0,
            rejected = 0;
        for (int n = 0; n < 20000; n++)
        {
            List<byte> row = [.. rows[random.Next(rows.Length)]];
            for (int m = random.Next(1, 4); m > 0 && row.Count > 0; m--)
            {
                int at = random.Next(row.Count);
                switch (random.Next(4))
                {
                    case 0:
                        row.RemoveAt(at);
                        break;
                    case 1:
                        row.Insert(at, pieces[random.Next(pieces.Length)]);
                        break;
                    case 2:
                        row[at] = pieces[random.Next(pieces.Length)];
                        break;
                    default:
                        int length = Math.Min(random.Next(1, 12), row.Count - at);
                        row.InsertRange(at, row.GetRange(at, length));
                        break;
                }
            }

            byte[] bytes = [.. row];
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
                continue; // the validator reports invalid UTF-8 before it reads a row
            if (AssertSameReading(bytes))
                accepted++;
            else
                rejected++;
        }

        Assert.True(accepted > 1000 && rejected > 5000, $"{accepted} mutants read, {rejected} rejected");
    }

    [Theory]
    [InlineData(JsonRowReader.MaxDepth - 1)]
    [InlineData(JsonRowReader.MaxDepth)]
    [InlineData(JsonRowReader.MaxDepth + 1)]
    public void Nesting_IsLimitedAsUtf8JsonReaderLimitsIt(int depth)
    {
        string arrays = new string('[', depth) + new string(']', depth);
        string objects = string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{}" + new string('}', depth - 1);
        Assert.Equal(depth <= JsonRowReader.MaxDepth, AssertSameReading(Encoding.UTF8.GetBytes(arrays)));
        Assert.Equal(depth <= JsonRowReader.MaxDepth, AssertSameReading(Encoding.UTF8.GetBytes(objects)));
    }

    [Theory]
    [InlineData("""{"a":"\u00e9\n\"x\/"}""")]
    [InlineData("\uFEFF{\"a\":1}")]
    [InlineData("""{"a":-0.5e+10,"b":[true,false,null],"c":{}}  """)]
    [InlineData("""{"a":01}""")]
    [InlineData("""{"a":1.}""")]
    [InlineData("""{"a":[1,]}""")]
    [InlineData("""{"a":1,}""")]
    [InlineData("""{"a":1} {"b":2}""")]
    [InlineData("""{"a":"\x"}""")]
    [InlineData("""{"a":"\u12G4"}""")]
    [InlineData("""{"a":tru}""")]
    [InlineData("""{"a":truex}""")]
    [InlineData("""{"a" 1}""")]
    [InlineData("""{"a":1""")]
    [InlineData("""{"a":"tab	inside"}""")]
    [InlineData("""{"a":1}/""")]
    [InlineData("""{"a":"\ud800"}""")]
    public void EdgeCases_ReadAsUtf8JsonReaderReadsThem(string row) => AssertSameReading(Encoding.UTF8.GetBytes(row));

    /// <summary>Random tokens made of what numbers, literals and escapes are made of, as values and inside strings.</summary>
    [Fact]
    public void RandomScalars_AreJsonExactlyWhenUtf8JsonReaderSaysSo()
    {
        var random = new Random(6122026);
        const string numberish = "-+.eE0123456789";
        const string literalish = "truefalsn";
        const string escapish = "\\\"/bfnrtuxA09";
        int accepted = 0;
        for (int n = 0; n < 6000; n++)
        {
            string token = (n % 3) switch
            {
                0 => Draw(numberish, random.Next(1, 9)),
                1 => Draw(literalish, random.Next(3, 6)),
                _ => "\"" + Draw(escapish, random.Next(1, 8)) + "\"",
            };
            string[] rows = [$"{{\"a\":{token}}}", $"[{token},{token}]", token, $"{{\"a\":[{token}] }}"];
            foreach (string row in rows)
            {
                accepted += AssertSameReading(Encoding.UTF8.GetBytes(row)) ? 1 : 0;
            }
        }

        Assert.True(accepted > 1000, $"{accepted} accepted");

        string Draw(string alphabet, int length) =>
            new([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
    }

    [Fact]
    public void Skip_FromAnyToken_LandsWhereUtf8JsonReaderLands()
    {
        foreach (byte[] row in RealRows().Where(r => r.Length < 3000).Take(300))
        {
            int tokens = Tokens(row, out _).Count;
            for (int k = 1; k <= tokens; k += Math.Max(1, tokens / 12))
            {
                var expected = new Utf8JsonReader(row, Options);
                var actual = new JsonRowReader(row);
                try
                {
                    for (int i = 0; i < k; i++)
                        expected.Read();
                    expected.Skip();
                }
                catch (JsonException)
                {
                    Assert.ThrowsAny<JsonException>(() => SkipAfter(row, k));
                    continue;
                }

                for (int i = 0; i < k; i++)
                    actual.Read();
                actual.Skip();
                Assert.Equal(expected.TokenType, actual.TokenType);
                Assert.Equal(expected.BytesConsumed, actual.BytesConsumed);
                Assert.Equal(expected.CurrentDepth, actual.CurrentDepth);
            }
        }
    }

    [Fact]
    public void Text_IsAsUtf8JsonReaderGivesIt()
    {
        byte[] row = Encoding.UTF8.GetBytes("""{"k\u0065y":"caf\u00e9 \"x\"","plain":"t","n":42,"big":1e3,"z":null}""");
        var expected = new Utf8JsonReader(row, Options);
        var actual = new JsonRowReader(row);
        while (expected.Read())
        {
            Assert.True(actual.Read());
            if (expected.TokenType is JsonTokenType.String or JsonTokenType.PropertyName or JsonTokenType.Null)
            {
                Assert.Equal(expected.GetString(), actual.GetString());
            }

            if (expected.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
            {
                Assert.Equal(expected.ValueTextEquals("key"u8), actual.ValueTextEquals("key"u8));
                Assert.Equal(expected.ValueTextEquals("café \"x\""u8), actual.ValueTextEquals("café \"x\""u8));
            }

            if (expected.TokenType == JsonTokenType.Number)
            {
                Assert.Equal(expected.TryGetInt32(out int e), actual.TryGetInt32(out int a));
                Assert.Equal(e, a);
            }
        }

        Assert.False(actual.Read());
    }

    private static void SkipAfter(byte[] row, int k)
    {
        var reader = new JsonRowReader(row);
        for (int i = 0; i < k; i++)
            reader.Read();
        reader.Skip();
    }

    /// <summary>Reads <paramref name="row"/> with both readers and asserts they agree; true when it is JSON.</summary>
    private static bool AssertSameReading(byte[] row)
    {
        List<string> expected = Tokens(row, out JsonException? error);
        var actual = new List<string>();
        JsonException? actualError = null;
        try
        {
            var reader = new JsonRowReader(row);
            while (reader.Read())
            {
                actual.Add(
                    Describe(reader.TokenType, reader.TokenStartIndex, reader.BytesConsumed, reader.ValueSpan, reader.ValueIsEscaped)
                );
            }
        }
        catch (JsonException ex)
        {
            actualError = ex;
        }

        string text = Encoding.UTF8.GetString(row);
        Assert.True(
            (error is null) == (actualError is null),
            $"{text}\nUtf8JsonReader: {error?.Message ?? "read"}\nJsonRowReader: {actualError?.Message ?? "read"}"
        );
        if (error is null)
        {
            Assert.Equal(expected, actual);
        }
        else
        {
            // Up to the error, the same tokens: one reader may stop a token later than the other (a literal's bad end).
            int common = Math.Min(expected.Count, actual.Count);
            Assert.True(Math.Abs(expected.Count - actual.Count) <= 1, $"{text}\n{expected.Count} against {actual.Count} tokens");
            Assert.Equal(expected.Take(common), actual.Take(common));
        }

        return error is null;
    }

    private static List<string> Tokens(byte[] row, out JsonException? error)
    {
        var tokens = new List<string>();
        error = null;
        var reader = new Utf8JsonReader(row, Options);
        try
        {
            while (reader.Read())
            {
                tokens.Add(
                    Describe(reader.TokenType, reader.TokenStartIndex, reader.BytesConsumed, reader.ValueSpan, reader.ValueIsEscaped)
                );
            }
        }
        catch (JsonException ex)
        {
            error = ex;
        }

        return tokens;
    }

    private static string Describe(JsonTokenType type, long start, long consumed, ReadOnlySpan<byte> value, bool escaped) =>
        $"{type} {start}..{consumed} {(IsBracket(type) ? "" : Encoding.UTF8.GetString(value))}{(escaped ? " escaped" : "")}";

    private static bool IsBracket(JsonTokenType type) =>
        type is JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.EndObject or JsonTokenType.EndArray;
}

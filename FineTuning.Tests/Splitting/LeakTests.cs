using System.Text;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Hashing;
using FineTuning.Core.Splitting;
using FineTuning.Core.Tokens;

namespace FineTuning.Tests.Splitting;

/// <summary>
/// Duplicates and split keys count the example the provider trains on, not the bytes of the line: the audit's leak file
/// (each conversation written three times: two metadata ids, once compact) is one example per conversation.
/// </summary>
public sealed class LeakTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>40 conversations, each written three times: with metadata id a, with id b, and compact without metadata.</summary>
    private string LeakFile()
    {
        var lines = new StringBuilder();
        for (int i = 0; i < 40; i++)
        {
            string topic = i % 2 == 0 ? "billing" : "shipping";
            string question = $$$"""{"role": "user", "content": "Question {{{i}}} about {{{topic}}}?"}""";
            string messages = $$$"""[{{{question}}}, {"role": "assistant", "content": "Answer {{{i}}}."}]""";
            lines.Append($$$"""{"messages": {{{messages}}}, "topic": "{{{topic}}}", "metadata": {"id": "a-{{{i}}}"}}""").Append('\n');
            lines.Append($$$"""{"metadata": {"id": "b-{{{i}}}"}, "topic": "{{{topic}}}", "messages": {{{messages}}}}""").Append('\n');
            lines
                .Append(
                    JsonSerializer.Serialize(JsonDocument.Parse($$$"""{"topic": "{{{topic}}}", "messages": {{{messages}}}}""").RootElement)
                )
                .Append('\n');
        }

        return _dir.Write("leak.jsonl", lines.ToString());
    }

    [Fact]
    public void LeakFile_Validates_As40Distinct_And80Repeats()
    {
        DatasetReport report = new DatasetValidator(new ValidationOptions { Tokens = new ApproximateTokenEstimator() }).ValidateFile(
            LeakFile()
        );

        Assert.Equal(120, report.ValidRows);
        Assert.Equal(40, report.Examples);
        Assert.Equal(80, report.Duplicates);
    }

    [Fact]
    public void LeakFile_Splits_WithNoExampleOnBothSides_AndSaysSo()
    {
        string output = _dir.File("split");
        SplitResult result = new StratifiedSplitter(
            new ValidationOptions { Tokens = new ApproximateTokenEstimator() },
            new SplitOptions { TrainRatio = 0.7 }
        ).Split(LeakFile(), output);

        SplitReport split = result.Split!;
        Assert.Equal(40, split.TrainRows + split.ValidationRows);
        Assert.Equal(80, split.ExcludedDuplicates);
        Assert.Equal(0, split.Leaks.TrainValidationOverlap);
        // The files themselves, read back by their questions: none on both sides.
        HashSet<string> train = Questions(Path.Combine(output, "train.jsonl"));
        HashSet<string> valid = Questions(Path.Combine(output, "valid.jsonl"));
        Assert.NotEmpty(valid);
        Assert.Empty(train.Intersect(valid));
    }

    private static HashSet<string> Questions(string path) =>
        [
            .. File.ReadLines(path)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!),
        ];

    [Fact]
    public async Task Split_IsTheSame_WithAndWithoutVectorInstructions()
    {
        // Identities are computed with 32-byte blocks (AVX-512 VBMI2's compress where there is one, else AVX2's shuffle),
        // 16-byte ones (SSSE3) or byte by byte: a shard validated on
        // a machine without AVX2 must key its rows as one with it, or the split and the duplicates would differ by host.
        var random = new Random(20261207);
        const string alphabet = "abcXYZ019 ,.!?-_'\"\\/:\n\téÉ日😀";
        var rows = new StringBuilder();
        var relaxed = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        for (int i = 0; i < 300; i++)
        {
            string question = $"Q{i} " + RandomText(random, alphabet, 0, 1200);
            // Half the rows escape every non-ASCII character and quote as \u, half write them as they are.
            rows.Append(JsonSerializer.Serialize(Chat(question, i), i % 2 == 0 ? JsonSerializerOptions.Default : relaxed)).Append('\n');
            if (i % 7 == 0)
                rows.Append(JsonSerializer.Serialize(Chat(question, i), i % 2 == 0 ? relaxed : JsonSerializerOptions.Default)).Append('\n');
            if (i % 10 == 3)
                rows.Append(JsonSerializer.Serialize(Chat(question.ToUpperInvariant() + "!!", i), relaxed)).Append('\n');
        }

        string path = _dir.Write("mixed.jsonl", rows.ToString());
        var outputs = new List<string>();
        foreach (string? setting in new[] { null, "DOTNET_EnableAVX512", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic" })
        {
            string output = _dir.File($"split-{setting ?? "default"}");
            var settings = setting is null ? null : new Dictionary<string, string> { [setting] = "0" };
            var (code, stdout, stderr) = await Runtime.KillRestartTests.Finetune(
                Runtime.KillRestartTests.StartInfo(null, null, ["split", path, "--out", output, "--seed", "7"], settings)
            );
            Assert.True(code == 0, stderr + stdout);
            outputs.Add(
                File.ReadAllText(Path.Combine(output, "train.jsonl")) + "|" + File.ReadAllText(Path.Combine(output, "valid.jsonl"))
            );
            var (_, report, _) = await Runtime.KillRestartTests.Finetune(
                Runtime.KillRestartTests.StartInfo(null, null, ["validate", path, "--json"], settings)
            );
            using JsonDocument doc = JsonDocument.Parse(report);
            JsonElement counts = doc.RootElement.GetProperty("counts");
            outputs.Add($"{counts.GetProperty("duplicate").GetInt64()} {counts.GetProperty("near_duplicate").GetInt64()}");
        }

        Assert.Equal("43 30", outputs[1]); // each repeat written the other way is one example; each shouted question a near one
        Assert.Equal(outputs[0], outputs[2]);
        Assert.Equal(outputs[0], outputs[4]);
        Assert.Equal(outputs[1], outputs[3]);
        Assert.Equal(outputs[1], outputs[5]);

        static object Chat(string question, int i) =>
            new { messages = new[] { new { role = "user", content = question }, new { role = "assistant", content = $"Answer {i}." } } };
    }

    /// <summary>From <paramref name="min"/> to <paramref name="max"/> (exclusive) characters of <paramref name="alphabet"/>.</summary>
    private static string RandomText(Random random, string alphabet, int min, int max) =>
        new([.. Enumerable.Range(0, random.Next(min, max)).Select(_ => alphabet[random.Next(alphabet.Length)])]);

    [Fact]
    public void CanonicalJson_TellsApartShortValuesByEveryByte()
    {
        // Values and members of up to 16 bytes are hashed from their bytes read as two words: every byte counts.
        for (int length = 1; length <= 20; length++)
        {
            string value = new string('a', length);
            UInt128 hash = CanonicalJson.Hash(Encoding.UTF8.GetBytes($$"""{"k":"{{value}}"}"""));
            Assert.NotEqual(hash, CanonicalJson.Hash(Encoding.UTF8.GetBytes($$"""{"k":"{{value}}a"}""")));
            for (int at = 0; at < length; at++)
            {
                string changed = value[..at] + "b" + value[(at + 1)..];
                Assert.NotEqual(hash, CanonicalJson.Hash(Encoding.UTF8.GetBytes($$"""{"k":"{{changed}}"}""")));
                Assert.NotEqual(hash, CanonicalJson.Hash(Encoding.UTF8.GetBytes($$"""[{"k":"{{changed}}"}]""")));
            }
        }
    }

    [Theory]
    [InlineData("""{"a": 1, "b": [1, 2]}""", """{"b":[1,2],"a":1}""")]
    [InlineData("""{"s": "A\u00e9\n"}""", """{"s":"\u0041é\n"}""")]
    [InlineData("""  [ {"x": true} , null ]""", """[{"x":true},null]""")]
    [InlineData("""{"o": {"p": "q", "r": {}}}""", """{"o":{"r":{},"p":"q"}}""")]
    public void CanonicalJson_IgnoresWhitespaceMemberOrderAndEscapes(string a, string b) =>
        Assert.Equal(CanonicalJson.Hash(Encoding.UTF8.GetBytes(a)), CanonicalJson.Hash(Encoding.UTF8.GetBytes(b)));

    [Theory]
    [InlineData("""[1, 2]""", """[2, 1]""")]
    [InlineData("""{"a": 1}""", """{"a": 1.0}""")]
    [InlineData("""{"a": "1"}""", """{"a": 1}""")]
    [InlineData("""{"a": {"b": 1}}""", """{"b": {"a": 1}}""")]
    [InlineData("""{"a": 1, "b": 2}""", """{"a": 2, "b": 1}""")]
    [InlineData("""[[1], 2]""", """[1, [2]]""")]
    [InlineData("""{"a": ""}""", """{"a": null}""")]
    [InlineData("""{"ab": "c"}""", """{"a": "bc"}""")]
    public void CanonicalJson_TellsApartWhatMeansSomethingElse(string a, string b) =>
        Assert.NotEqual(CanonicalJson.Hash(Encoding.UTF8.GetBytes(a)), CanonicalJson.Hash(Encoding.UTF8.GetBytes(b)));

    [Theory]
    [InlineData("""{"s": "Hello, World!"}""", """{"s":"hello world"}""")]
    [InlineData("""{"s": "\u0048ello\tthere"}""", """{"s":"HELLO THERE."}""")]
    [InlineData("""{"s": "Éclair \ud83d\ude00 à  la carte"}""", """{"s":"éclair😀àlacarte"}""")]
    [InlineData("""{"m": [{"role": "user", "content": "Order #42?"}]}""", """{"m":[{"content":"order 42","role":"USER"}]}""")]
    public void FoldedHash_IgnoresCaseWhitespaceAndPunctuation(string a, string b) =>
        Assert.Equal(CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes(a)), CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes(b)));

    [Theory]
    [InlineData("""{"s": "refund my order"}""", """{"s": "refund my orders"}""")]
    [InlineData("""{"s": "order 42"}""", """{"s": "order 43"}""")]
    [InlineData("""{"a": "x", "b": "y"}""", """{"a": "y", "b": "x"}""")]
    [InlineData("""["ab", "c"]""", """["a", "bc"]""")]
    [InlineData("""{"ab": "c"}""", """{"a": "bc"}""")]
    [InlineData("""{"a:b": "c"}""", """{"a": "b:c"}""")]
    public void FoldedHash_TellsApartWhatSaysSomethingElse(string a, string b) =>
        Assert.NotEqual(CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes(a)), CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes(b)));

    [Fact]
    public void Members_ReadInPlace_OrWrittenAgain_HashTheSame()
    {
        // A member whose value is a string is hashed as one piece: read in place when written compactly without
        // \u or \/ escapes, else written again. Names past 64 bytes take the other path for folded text.
        var random = new Random(20261206);
        const string alphabet = "abcXYZ019 /:-_";
        for (int round = 0; round < 300; round++)
        {
            string name = RandomText(random, alphabet, 1, 90);
            string value = RandomText(random, alphabet, 0, 600);
            string compact = $"{{\"n\":1,\"{name}\":\"{value}\"}}";
            string written = $"{{ \"{Escaped(name, round)}\" :  \"{Escaped(value, round + 1)}\", \"n\": 1 }}";
            string spaced = $"{{\"{name}\" : \"{value}\",\"n\":1}}";
            byte[] a = Encoding.UTF8.GetBytes(compact);
            foreach (byte[] b in new[] { written, spaced }.Select(Encoding.UTF8.GetBytes))
            {
                Assert.Equal(CanonicalJson.Hash(a), CanonicalJson.Hash(b));
                Assert.Equal(CanonicalJson.FoldedHash(a), CanonicalJson.FoldedHash(b));
                Assert.Equal((CanonicalJson.Hash(b), CanonicalJson.FoldedHash(b)), CanonicalJson.Hashes(b));
            }
        }

        static string Escaped(string text, int seed) =>
            string.Concat(
                text.Select(
                    (c, i) =>
                        (i + seed) % 5 == 0 && char.IsAsciiLetter(c) ? $"\\u{(int)c:X4}"
                        : c == '/' && (i + seed) % 2 == 0 ? "\\/"
                        : c.ToString()
                )
            );
    }

    [Fact]
    public void Identities_AreTheSame_PackedByCompressOrByShuffle()
    {
        // Where the machine has AVX-512 VBMI2 (this one does), plain 32-byte blocks are packed by one compress instruction,
        // elsewhere by AVX2's shuffle: a shard validated on either must key its rows the same.
        var random = new Random(20261206);
        const string alphabet = "abcXYZ0189 ,.!?-_'\"\\\n\téÉ日😀";
        byte[][] rows =
        [
            .. Enumerable
                .Range(0, 300)
                .Select(i =>
                    JsonSerializer.SerializeToUtf8Bytes(
                        new
                        {
                            messages = new[]
                            {
                                new { role = "user", content = $"Q{i} " + RandomText(random, alphabet, 0, 1500) },
                                new { role = "assistant", content = RandomText(random, alphabet, 0, 1500) },
                            },
                        }
                    )
                ),
            .. Directory
                .GetFiles(Path.Combine(AppContext.BaseDirectory, "Datasets", "real"), "sft-*.jsonl")
                .SelectMany(File.ReadLines)
                .Select(Encoding.UTF8.GetBytes),
        ];
        (UInt128, UInt128)[] compressed = [.. rows.Select(r => CanonicalJson.Hashes(r))];
        try
        {
            CanonicalJson.CompressBlocks = false;
            Assert.Equal(compressed, rows.Select(r => CanonicalJson.Hashes(r)));
        }
        finally
        {
            CanonicalJson.CompressBlocks = true;
        }
    }

    [Fact]
    public void FoldedHash_OfLongText_IsTheHashOfItsFoldedText_WhicheverWayItIsRead()
    {
        // Long strings go through the 16-byte blocks; quotes, escapes and non-ASCII through the per-character path; folded
        // text past 256 bytes is hashed in chained chunks: the same answer whichever way a text is written.
        var random = new Random(20261205);
        const string alphabet = "abcXYZ019 ,.!?-_()[]{}:;'\t\"\\Éé日";
        for (int round = 0; round < 300; round++)
        {
            string raw = RandomText(random, alphabet, 0, 900);
            string text = raw.Replace("\\", "\\\\").Replace("\"", "\\\"");
            string folded = new([.. raw.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);
            string escaped = string.Concat(
                raw.Select(
                    (c, i) =>
                        i % 7 == 3 && char.IsAsciiLetter(c) ? $"\\u{(int)c:x4}"
                        : c is '"' or '\\' ? $"\\{c}"
                        : c.ToString()
                )
            );

            UInt128 expected = CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes($"{{\"s\":\"{folded}\"}}"));
            Assert.Equal(expected, CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes($"{{\"s\":\"{text}\"}}")));
            Assert.Equal(expected, CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes($"{{\"s\":\"{escaped}\"}}")));
            Assert.Equal(
                expected,
                CanonicalJson.FoldedHash(Encoding.UTF8.GetBytes($"{{\"s\":\"{string.Join(' ', folded.ToCharArray())}\"}}"))
            );
            // Both hashes in one scan are the two scans' answers.
            byte[] row = Encoding.UTF8.GetBytes($"{{\"m\":[{{\"s\":\"{escaped}\",\"n\":{round}}},\"{text}\"]}}");
            Assert.Equal((CanonicalJson.Hash(row), CanonicalJson.FoldedHash(row)), CanonicalJson.Hashes(row));
        }
    }
}

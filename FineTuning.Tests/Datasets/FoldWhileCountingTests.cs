using System.Text;
using FineTuning.Core.Datasets;
using FineTuning.Core.Hashing;
using FineTuning.Core.Tokens;

namespace FineTuning.Tests.Datasets;

/// <summary>
/// A message's text is folded for the near-duplicate identity in the pass that counts its tokens, and the canonical
/// walk takes that fold instead of folding the text again: the identities are the same as when the walk folds every
/// string itself, on every vector path, and the token counts are unchanged.
/// </summary>
public class FoldWhileCountingTests
{
    // Plain text, short escapes, \u escapes (a surrogate pair, lone surrogates, an escaped slash), and UTF-8 characters
    // of two, three and four bytes, letters and not.
    private static readonly string[] Pieces =
    [
        "a",
        "b",
        "Z",
        "q",
        "X",
        "0",
        "7",
        " ",
        " ",
        ",",
        ".",
        "!",
        "'",
        "-",
        "_",
        ":",
        "/",
        "\\n",
        "\\t",
        "\\\"",
        "\\\\",
        "\\/",
        "\\u00e9",
        "\\u00C9",
        "\\u0041",
        "\\uD83D\\uDE00",
        "\\uD800",
        "\\uDC00x",
        "\\uD83D\\u0041",
        "é",
        "É",
        "ß",
        "Σ",
        "日",
        "本",
        "😀",
        "•",
        "İ",
    ];

    private static string RandomText(Random random, int pieces)
    {
        var text = new StringBuilder();
        for (int i = 0; i < pieces; i++)
        {
            // Mostly letters and spaces, so that many 32-byte blocks are plain and the paths hand over to each other.
            text.Append(random.Next(4) == 0 ? Pieces[random.Next(Pieces.Length)] : Pieces[random.Next(5)]);
        }

        return text.ToString();
    }

    [Theory]
    [InlineData(32, true)]
    [InlineData(32, false)]
    [InlineData(16, true)]
    [InlineData(0, true)]
    public void FoldedWhileCounted_IsTheWalksFold(int vectorBytes, bool compress)
    {
        var estimator = new ApproximateTokenEstimator { VectorBytes = vectorBytes };
        var random = new Random(20261206 + vectorBytes);
        CanonicalJson.CompressBlocks = compress;
        try
        {
            for (int n = 0; n < 3000; n++)
            {
                // Up to about 9,000 bytes: folded text that crosses the 2,048-byte chunks, and strings that end in an escape.
                string text = RandomText(random, random.Next(0, n % 10 == 0 ? 6000 : 200));
                if (n % 7 == 0)
                    text += "\\uD83D";
                byte[] row = Encoding.UTF8.GetBytes($$"""{"content":"{{text}}","role":"user"}""");
                const int start = 12;
                int end = row.AsSpan(start).IndexOf("\",\"role\""u8) + start;

                var fold = new FoldedText("content"u8);
                int tokens = estimator.CountEscaped(row.AsSpan(start, end - start), ref fold);
                var known = new FoldedStrings();
                known.Add(start, end, fold);

                Assert.Equal(estimator.CountEscaped(row.AsSpan(start, end - start)), tokens);
                Assert.Equal(CanonicalJson.MemberHashes(row, 1, null), CanonicalJson.MemberHashes(row, 1, known));
                Assert.False(known.TryTake(start, out _, out _, out _), "the walk took the fold recorded for the text");
            }
        }
        finally
        {
            CanonicalJson.CompressBlocks = true;
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(16)]
    [InlineData(0)]
    public void CountedToItsClosingQuote_IsTheCountOfTheText(int vectorBytes)
    {
        // A message's text is counted, folded and its end found in one pass: the same tokens and fold as the text given
        // whole, and the same end as a search for it, whatever follows (the row's last bytes, or more of it).
        var estimator = new ApproximateTokenEstimator { VectorBytes = vectorBytes };
        var random = new Random(61206 + vectorBytes);
        for (int n = 0; n < 3000; n++)
        {
            string text = RandomText(random, random.Next(0, n % 10 == 0 ? 3000 : 120));
            string after = (n % 3) switch
            {
                0 => "\"}",
                1 => "\",\"role\":\"user\"}",
                _ => "\"," + new string(' ', random.Next(40)) + "\"x\":\"y\"}",
            };
            byte[] row = Encoding.UTF8.GetBytes($$"""{"content":"{{text}}{{after}}""");
            const int start = 12;
            int length = Encoding.UTF8.GetByteCount(text);

            var fold = new FoldedText("content"u8);
            int tokens = estimator.CountString(row.AsSpan(start), ref fold, out int counted, out bool escaped);
            var whole = new FoldedText("content"u8);
            Assert.Equal(estimator.CountEscaped(row.AsSpan(start, length), ref whole), tokens);
            Assert.Equal(length, counted);
            Assert.Equal(text.Contains('\\'), escaped);
            Assert.Equal(whole.Finish(), fold.Finish());
        }
    }

    [Theory]
    [InlineData("tab\there", true)] // a control character as it is (JSON wants it escaped)
    [InlineData("bell\u0007", true)]
    [InlineData("not an escape: \\x", true)]
    [InlineData("not hexadecimal: \\u12G4", true)]
    [InlineData("cut short: \\u12", true)]
    [InlineData("cut at the end: \\", true)]
    [InlineData("no closing quote", false)]
    public void TextThatIsNotAJsonString_IsLeftToTheReader(string text, bool closed)
    {
        foreach (int vectorBytes in new[] { 32, 16, 0 })
        {
            var estimator = new ApproximateTokenEstimator { VectorBytes = vectorBytes };
            // After 40 plain bytes (a vector block and a part), then the closing quote and more of a row.
            byte[] rest = Encoding.UTF8.GetBytes(new string('a', 40) + text + (closed ? "\"}" : ""));
            var fold = new FoldedText("content"u8);
            Assert.Equal(-1, estimator.CountString(rest, ref fold, out _, out _));
        }
    }

    [Fact]
    public void RowsWithBrokenTexts_GetTheSameFindings_WhenTextsAreReadWhileCounted()
    {
        // Message texts that are not valid JSON strings, next to valid ones: the validator that reads texts in the pass
        // that counts them reports each row as the one that reads every string with the row reader does.
        string[] texts =
        [
            "fine",
            "tab\tthere",
            "ok \\n escaped",
            "bell\u0007",
            "bad \\x escape",
            "bad \\u12G4 hex",
            new string('w', 70) + "\t",
            "a \\\" quote",
            "é \\u00e9 😀",
        ];
        var rows = new StringBuilder();
        foreach (string text in texts)
        {
            rows.Append($$"""{"messages":[{"role":"user","content":"{{text}}"},{"role":"assistant","content":"fine {{text}}"}]}""");
            rows.Append('\n');
            rows.Append($$"""{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"{{text}}"}]}""").Append('\n');
        }

        rows.Append("""{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"the row ends in the text""").Append('\n');

        for (int i = 0; i < 20; i++)
            rows.Append($$"""{"messages":[{"role":"user","content":"q{{i}}"},{"role":"assistant","content":"a{{i}}"}]}""").Append('\n');

        byte[] bytes = Encoding.UTF8.GetBytes(rows.ToString());
        var fused = new DatasetValidator(new ValidationOptions());
        var apart = new DatasetValidator(new ValidationOptions { Tokens = new Counting(ApproximateTokenEstimator.Instance) });
        string Report(DatasetValidator validator) =>
            FineTuning.Core.Serialization.ReportSerializer.Serialize(
                validator.Finish([validator.ValidateShard(new MemoryStream(bytes))], "d.jsonl")
            );

        ShardReport shard = fused.ValidateShard(new MemoryStream(bytes));
        // Two rows each for the texts with a raw tab (two of them), a bell, a \x and a \u12G4; the row that ends in a text.
        Assert.Equal(11, shard.ErrorRows);
        Assert.Equal(11, shard.Codes[FindingCodes.InvalidJson].Count);
        Assert.Equal(Report(apart), Report(fused));
    }

    [Fact]
    public void RowIdentities_AreTheSame_WhetherOrNotTextsAreFoldedWhileCounted()
    {
        // Every row of the real datasets and the samples, and rows with texts of every kind, some repeated in other case
        // and spacing (near-duplicates): the validator that folds while counting keys each row as the one that does not.
        string real = Path.Combine(AppContext.BaseDirectory, "Datasets", "real");
        var random = new Random(7);
        var rows = new StringBuilder();
        foreach (string file in Directory.GetFiles(real, "*.jsonl").Concat(Directory.GetFiles(Repo.File("samples"), "*.jsonl")).Order())
        {
            rows.Append(File.ReadAllText(file).TrimEnd('\n')).Append('\n');
        }

        for (int i = 0; i < 400; i++)
        {
            string question = RandomText(random, random.Next(1, 300));
            string answer = RandomText(random, random.Next(1, 900));
            rows.Append(Chat(question, answer)).Append('\n');
            if (i % 5 == 0)
                rows.Append(Chat(question.ToUpperInvariant(), answer + " !")).Append('\n');
        }

        byte[] bytes = Encoding.UTF8.GetBytes(rows.ToString());
        ShardReport folding = new DatasetValidator(new ValidationOptions()).ValidateShard(new MemoryStream(bytes));
        ShardReport walking = new DatasetValidator(
            new ValidationOptions { Tokens = new Counting(ApproximateTokenEstimator.Instance) }
        ).ValidateShard(new MemoryStream(bytes));

        Assert.True(folding.TextHashes.Count > 1500, $"{folding.TextHashes.Count} rows");
        Assert.Equal(Keys(walking.RowHashes), Keys(folding.RowHashes));
        Assert.Equal(Keys(walking.TextHashes), Keys(folding.TextHashes));
        Assert.True(folding.TextHashes.Count < folding.RowHashes.Count, "the shouted repeats are near-duplicates");

        static string Chat(string question, string answer) =>
            $$"""{"messages":[{"role":"user","content":"{{question}}"},{"role":"assistant","content":"{{answer}}"}]}""";

        static List<(ContentHash, long, int)> Keys(RowHashTable table) =>
            [.. table.Rows().Select(r => (r.Hash, r.FirstLine, r.BillableTokens)).OrderBy(r => r.FirstLine)];
    }

    /// <summary>An estimator that only counts (the validator folds nothing while counting with it).</summary>
    private sealed class Counting(ITokenEstimator inner) : ITokenEstimator
    {
        public string Name => inner.Name;

        public string Accounting => inner.Accounting;

        public int CountEscaped(ReadOnlySpan<byte> escapedUtf8) => inner.CountEscaped(escapedUtf8);
    }
}

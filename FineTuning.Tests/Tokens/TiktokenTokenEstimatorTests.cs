using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Tokens;
using FineTuning.Local.Tokens;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.ML.Tokenizers;

namespace FineTuning.Tests.Tokens;

public class TiktokenTokenEstimatorTests
{
    private static readonly Tokenizer Reference = TiktokenTokenizer.CreateForEncoding("o200k_base");

    private static readonly JsonSerializerOptions Strict = new() { Encoder = JavaScriptEncoder.Default };
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // As System.Text.Json writes a string value in a file, without its quotes.
    private static byte[] Escaped(string text, JsonSerializerOptions options) => JsonSerializer.SerializeToUtf8Bytes(text, options)[1..^1];

    [Fact]
    public void CountEscaped_GivesTheEncodersCount()
    {
        // The library's documented example for gpt-4o (o200k_base): 16 tokens.
        Assert.Equal(
            16,
            TiktokenTokenEstimator.O200kBase.CountEscaped("Text tokenization is the process of splitting a string into a list of tokens."u8)
        );
        Assert.Equal(0, TiktokenTokenEstimator.O200kBase.CountEscaped([]));
    }

    [Fact]
    public void CountEscaped_DecodesEscapesFirst_SoEscapedAndPlainTextCountTheSame()
    {
        Prop.ForAll(
                Arb.From(
                    Gen.Elements("Hello", " world", "\n", "\t", "\"", "\\", "é", "日本", "😀", "<", "12345", "  ")
                        .ArrayOf()
                        .Select(string.Concat)
                ),
                text =>
                {
                    int expected = Reference.CountTokens(text);
                    return TiktokenTokenEstimator.O200kBase.CountEscaped(Escaped(text, Strict)) == expected
                        && TiktokenTokenEstimator.O200kBase.CountEscaped(Escaped(text, Relaxed)) == expected;
                }
            )
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void CountText_CountsJsonAsWritten_QuotesAndEscapesIncluded()
    {
        const string json = "{\"name\": \"get_weather\", \"description\": \"Line one\\nline two\"}";

        Assert.Equal(Reference.CountTokens(json), TiktokenTokenEstimator.O200kBase.CountText(Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>
    /// How close the default approximation comes to the real encoder on every valid public dataset (README, "Token
    /// counts"): within 15% on each, within 3% over all of them. Fails when a change to the approximation drifts.
    /// </summary>
    [Fact]
    public void Approximation_StaysCloseToTheEncoder_OnTheRealDatasets()
    {
        string[] files = Directory
            .GetFiles(Path.Combine(AppContext.BaseDirectory, "Datasets", "real"), "*.jsonl")
            .Where(f => !Path.GetFileName(f).StartsWith("invalid-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.True(files.Length >= 10, "the real datasets are copied next to the tests");
        long approxAll = 0,
            exactAll = 0;
        foreach (string file in files)
        {
            long approx = Total(file, ApproximateTokenEstimator.Instance);
            long exact = Total(file, TiktokenTokenEstimator.O200kBase);
            Assert.True(exact > 0, file);
            Assert.True(
                Math.Abs(approx - exact) <= exact * 0.15,
                $"{Path.GetFileName(file)}: approximation {approx:N0}, o200k_base {exact:N0} tokens"
            );
            approxAll += approx;
            exactAll += exact;
        }

        Assert.InRange(approxAll, exactAll * 0.97, exactAll * 1.03);
    }

    private static long Total(string file, ITokenEstimator tokens) =>
        new DatasetValidator(new ValidationOptions { Tokens = tokens, MinExamples = 0 }).ValidateFile(file).Tokens.TokensPerExample?.Total
        ?? 0;
}

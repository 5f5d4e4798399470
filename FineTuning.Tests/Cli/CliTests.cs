using System.Text.Json;
using FineTuning.Tests.Datasets;

namespace FineTuning.Tests.Cli;

/// <summary>The finetune command end to end, in process: exit codes, JSON on stdout, errors on stderr.</summary>
public class CliTests
{
    [Fact]
    public void Validate_FitDataset_ExitsZeroWithSummary()
    {
        using var dir = new TempDir();
        string path = dir.Write("ok.jsonl", Rows.Jsonl(Rows.ManyChats(12, i => i % 2 == 0 ? "a" : "b")));

        var (code, stdout, stderr) = CliRunner.Run("validate", path);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("Fit: 12 supervised examples.", stdout, StringComparison.Ordinal);
        Assert.Contains("estimates", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnfitDataset_ExitsOneAndListsFindingsGroupedByCode()
    {
        using var dir = new TempDir();
        string path = dir.Write(
            "bad.jsonl",
            Rows.Jsonl(Rows.ManyChats(10)) + "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n"
        );

        var (code, stdout, _) = CliRunner.Run("validate", path);

        Assert.Equal(1, code);
        Assert.Contains("unrecognized_role × 1", stdout, StringComparison.Ordinal);
        Assert.Contains("line 11, messages[0].role: \"bot\" is not a role", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Json_PrintsOneParseableReport()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(12)) + "\n");

        var (code, stdout, _) = CliRunner.Run("validate", path, "--json");

        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        Assert.True(doc.RootElement.GetProperty("fit").GetBoolean());
        Assert.Equal(12, doc.RootElement.GetProperty("examples").GetInt64());
        Assert.Equal(1, doc.RootElement.GetProperty("counts").GetProperty("empty_line").GetInt64());
    }

    [Fact]
    public void Validate_TokenizerO200k_CountsExactlyAndSaysSo()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(12)));

        var (approxCode, approx, _) = CliRunner.Run("validate", path, "--json");
        var (exactCode, exact, _) = CliRunner.Run("validate", path, "--json", "--tokenizer", "o200k");

        Assert.Equal((0, 0), (approxCode, exactCode));
        using JsonDocument a = JsonDocument.Parse(approx),
            e = JsonDocument.Parse(exact);
        JsonElement tokens = e.RootElement.GetProperty("tokens");
        Assert.Equal("o200k_base", tokens.GetProperty("tokenEstimator").GetString());
        Assert.Contains("exact o200k_base counts", tokens.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Equal("approx-o200k", a.RootElement.GetProperty("tokens").GetProperty("tokenEstimator").GetString());
        long exactTotal = tokens.GetProperty("tokensPerExample").GetProperty("total").GetInt64();
        long approxTotal = a.RootElement.GetProperty("tokens").GetProperty("tokensPerExample").GetProperty("total").GetInt64();
        Assert.NotEqual(approxTotal, exactTotal);
        Assert.InRange(approxTotal, exactTotal * 0.8, exactTotal * 1.2);
    }

    [Theory]
    [InlineData("validate", "--method", "chat")]
    [InlineData("validate", "--max-error-rate", "2")]
    [InlineData("validate", "--tokenizer", "cl100k")]
    [InlineData("split", "--train-ratio", "0", "--out", "x")]
    [InlineData("split")]
    [InlineData("frobnicate")]
    public void BadUsage_ExitsTwoWithAMessageOnStderr(params string[] args)
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(12)));
        string[] withFile = args.Length > 0 && args[0] is "validate" or "split" ? [args[0], path, .. args[1..]] : args;

        var (code, stdout, stderr) = CliRunner.Run(withFile);

        Assert.Equal(2, code);
        Assert.Contains("error", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Validate_MissingGraderFile_ExitsTwoNamingIt()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(12)));

        var (code, _, stderr) = CliRunner.Run("validate", path, "--grader", dir.File("nope.grader.json"));

        Assert.Equal(2, code);
        Assert.Contains("nope.grader.json", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WithNearDuplicates_NamesBothLinesOfAPair()
    {
        using var dir = new TempDir();
        string answer = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}"));
        string path = dir.Write(
            "d.jsonl",
            Rows.Jsonl([
                Rows.Chat("Tell me the words", answer),
                Rows.Chat("Tell me the words", answer + " and one more"),
                .. Rows.ManyChats(12),
            ])
        );

        var (plainCode, plain, _) = CliRunner.Run("validate", path);
        var (code, stdout, _) = CliRunner.Run("validate", path, "--near-duplicates");

        Assert.Equal((0, 0), (plainCode, code));
        Assert.DoesNotContain("near_duplicate", plain, StringComparison.Ordinal);
        Assert.Contains("near_duplicate", stdout, StringComparison.Ordinal);
        Assert.Contains("the same as line 1", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_PricesTheDatasetWithTheDefaultEpochRule()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(20)));

        var (code, stdout, _) = CliRunner.Run("estimate", path, "--model", "gpt-4o-mini", "--json");

        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement estimate = doc.RootElement.GetProperty("estimate");
        Assert.Equal(5, estimate.GetProperty("epochs").GetInt32()); // 100 / 20
        Assert.Equal("gpt-4o-mini-2024-07-18", estimate.GetProperty("model").GetString());
        long billed = estimate.GetProperty("billedTokens").GetInt64();
        Assert.Equal(5 * estimate.GetProperty("billableTokensPerEpoch").GetInt64(), billed);
        Assert.Equal(Math.Round(billed / 1_000_000m * 3.00m, 2), estimate.GetProperty("estimatedCostUsd").GetDecimal());
        // No duration is invented: the estimate says why there is none, in JSON and in the table.
        Assert.StartsWith("not estimated: the providers publish no training throughput", estimate.GetProperty("duration").GetString());
        var (_, table, _) = CliRunner.Run("estimate", path, "--model", "gpt-4o-mini");
        Assert.Contains("Duration", table, StringComparison.Ordinal);
        Assert.Contains("not estimated", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Split_WritesFilesAndExitsZero()
    {
        using var dir = new TempDir();
        string path = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(40, i => i % 2 == 0 ? "a" : "b")));

        var (code, stdout, _) = CliRunner.Run("split", path, "--out", dir.File("out"), "--seed", "7");

        Assert.Equal(0, code);
        Assert.Contains("Wrote", stdout, StringComparison.Ordinal);
        Assert.Equal(36, File.ReadAllLines(dir.File("out/train.jsonl")).Length);
        Assert.Equal(4, File.ReadAllLines(dir.File("out/valid.jsonl")).Length);
    }

    [Fact]
    public void Help_AnswersWhatTheOptionsDo()
    {
        var (code, stdout, _) = CliRunner.Run("validate", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--method", stdout, StringComparison.Ordinal);
        Assert.Contains("--grader", stdout, StringComparison.Ordinal);
        Assert.Contains("Exit code 0 fit, 1 not fit, 2 usage or I/O error", stdout, StringComparison.Ordinal);
    }
}

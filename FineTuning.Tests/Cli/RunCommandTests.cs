using FineTuning.Core.Workflow;
using FineTuning.Local.Cli;
using FineTuning.Local.Storage;
using FineTuning.Tests.Datasets;

namespace FineTuning.Tests.Cli;

public class RunCommandTests
{
    [Fact]
    public async Task Run_OnTheBuiltInEmulator_RegistersAModel_AndTheSameInputIsOneRun()
    {
        using var dir = new TempDir();
        string dataset = dir.Write("support.jsonl", Rows.Jsonl(Rows.ManyChats(40, i => i % 2 == 0 ? "billing" : "shipping")));
        var stdout = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["run", dataset, "--data", dir.File("data"), "--no-eval"],
            stdout,
            TextWriter.Null,
            CancellationToken.None
        );
        var again = new StringWriter();
        int second = await FinetuneCli.RunAsync(
            ["run", dataset, "--data", dir.File("data"), "--no-eval"],
            again,
            TextWriter.Null,
            CancellationToken.None
        );

        Assert.Equal(0, code);
        Assert.Contains("built-in emulator", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("Succeeded: registered ft:", stdout.ToString(), StringComparison.Ordinal);
        var tables = new SqliteTables(dir.File("data/finetuning.db"));
        RunRow run = Assert.Single(await ((IRunStore)tables).ListAsync());
        Assert.Equal(RunStatus.Succeeded, run.Status);
        Assert.Single(await ((IModelRegistry)tables).ListAsync());
        Assert.Equal(0, second);
        Assert.Contains("already registered", again.ToString(), StringComparison.Ordinal);

        var (runsCode, runsOut, _) = CliRunner.Run("runs", "--data", dir.File("data"));
        var (statusCode, statusOut, _) = CliRunner.Run("status", run.RunId, "--data", dir.File("data"));
        var (modelsCode, modelsOut, _) = CliRunner.Run("models", "--data", dir.File("data"), "--json");
        Assert.Equal(0, runsCode);
        Assert.Contains(run.RunId, runsOut, StringComparison.Ordinal);
        Assert.Equal(0, statusCode);
        Assert.Contains($"{run.RunId}: Succeeded at RegisterModel", statusOut, StringComparison.Ordinal);
        Assert.Equal(0, modelsCode);
        Assert.Contains("\"outcome\": \"improved_significantly\"", modelsOut, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("status", "run-nope", "--data", dir.File("data")).Code);
    }

    [Fact]
    public async Task Run_UnfitDataset_ExitsOneWithTheReason()
    {
        using var dir = new TempDir();
        string dataset = dir.Write(
            "small.jsonl",
            Rows.Jsonl(Rows.ManyChats(3)) + "{\"messages\": 1}\n" + "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n"
        );
        var stdout = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["run", dataset, "--data", dir.File("data")],
            stdout,
            TextWriter.Null,
            CancellationToken.None
        );

        Assert.Equal(1, code);
        Assert.Contains("Failed: Not fit (too_few_examples", stdout.ToString(), StringComparison.Ordinal);
        // A line per finding, each with its line number, not one long line.
        Assert.Contains("\n  line 4, messages:", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("\n  line 5, messages[0].role:", stdout.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"type\": \"string_check\",", "line 2: not JSON")]
    [InlineData("{\"type\": \"score_model\", \"name\": \"s\", \"model\": \"gpt-4.1\", \"input\": []}", "evalGrader")]
    public async Task Run_WithAnEvaluationGraderThatCannotBeUsed_IsAUsageError_NamingTheFile(string grader, string said)
    {
        using var dir = new TempDir();
        string dataset = dir.Write("d.jsonl", Rows.Jsonl(Rows.ManyChats(30)));
        string graderFile = dir.Write("eval.grader.json", grader.Replace(",", ",\n", StringComparison.Ordinal));
        var stderr = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["run", dataset, "--data", dir.File("data"), "--eval-grader", graderFile],
            TextWriter.Null,
            stderr,
            CancellationToken.None
        );

        Assert.Equal(FinetuneCli.ExitUsage, code);
        Assert.Contains(said, stderr.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(dir.File("data"), "blobs", "runs")), "nothing ran");
    }

    [Fact]
    public async Task Run_ReinforcementWithoutGrader_IsAUsageError()
    {
        using var dir = new TempDir();
        string dataset = dir.Write("rft.jsonl", Rows.Jsonl(Enumerable.Range(0, 12).Select(i => Rows.Rft($"q{i}", "a"))));
        var stderr = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["run", dataset, "--method", "reinforcement", "--data", dir.File("data")],
            TextWriter.Null,
            stderr,
            CancellationToken.None
        );

        Assert.Equal(2, code);
        Assert.Contains("grader: is required for reinforcement", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("data")));
    }

    [Theory]
    [InlineData("--deadline-hours", "1e9", "--deadline-hours: 1000000000 is not between 0 and 720")]
    [InlineData("--deadline-hours", "-1", "--deadline-hours: -1 is not between 0 and 720")]
    [InlineData("--poll-seconds", "1e20", "--poll-seconds: 1E+20 is not between 1 and 3600")]
    public async Task Run_NumbersAtTheEdge_AreUsageErrorsWithASentence(string option, string value, string message)
    {
        using var dir = new TempDir();
        string dataset = dir.Write("a.jsonl", Rows.Jsonl(Rows.ManyChats(12)));
        var stderr = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["run", dataset, option, value, "--data", dir.File("data")],
            TextWriter.Null,
            stderr,
            CancellationToken.None
        );

        Assert.Equal(2, code);
        Assert.Contains(message, stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_UnknownModel_IsAUsageError_UnlessAllowed()
    {
        using var dir = new TempDir();
        string dataset = dir.Write("a.jsonl", Rows.Jsonl(Rows.ManyChats(12)));
        var stderr = new StringWriter();

        int code = await FinetuneCli.RunAsync(
            ["run", dataset, "--model", "gpt-99", "--data", dir.File("data")],
            TextWriter.Null,
            stderr,
            CancellationToken.None
        );

        Assert.Equal(2, code);
        Assert.Contains("\"gpt-99\" is not in the model catalogue", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("--allow-unknown-model", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("data")), "nothing was started");
    }
}

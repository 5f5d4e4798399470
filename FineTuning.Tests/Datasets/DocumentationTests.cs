using System.Text.RegularExpressions;
using FineTuning.Core.Datasets;

namespace FineTuning.Tests.Datasets;

public class DocumentationTests
{
    private static string RepoFile(string name) => Repo.File(name);

    [Fact]
    public void Readme_DocumentsEveryFindingCodeWithItsSeverity()
    {
        string readme = File.ReadAllText(RepoFile("README.md"));

        foreach (FindingCode code in FindingCodes.All)
        {
            Assert.Contains($"| `{code.Code}` | {code.Severity.ToString().ToLowerInvariant()} |", readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Readme_MainJobRunsOnTheEmbeddedSampleToARegisteredModel()
    {
        string readme = File.ReadAllText(RepoFile("README.md"));
        using var dir = new TempDir();

        Assert.Contains("dotnet run --project FineTuning.Local -- run samples/support-chat.jsonl", readme, StringComparison.Ordinal);
        var stdout = new StringWriter();
        int code = await FineTuning.Local.Cli.FinetuneCli.RunAsync(
            ["run", RepoFile("samples/support-chat.jsonl"), "--data", dir.File("data")],
            stdout,
            TextWriter.Null,
            CancellationToken.None
        );
        string output = stdout.ToString();
        Assert.True(code == 0, output);
        // It ends with the evaluation by topic and the promotion decision, and waits for a person's approval.
        Assert.Matches(@"Evaluation on \d+ held-out rows", output);
        Assert.Contains("  billing ", output, StringComparison.Ordinal);
        Assert.Contains("outcome: improved significantly → deploy", output, StringComparison.Ordinal);
        Assert.Contains("promotion policy: passed", output, StringComparison.Ordinal);
        string approve = Regex.Match(output, @"finetune (approve run-[0-9a-f]+) --data (\S+)").Value;
        Assert.NotEmpty(approve);

        var approved = new StringWriter();
        int approvedCode = await FineTuning.Local.Cli.FinetuneCli.RunAsync(
            [.. approve.Split(' ').Skip(1), "--why", "better on every topic"],
            approved,
            TextWriter.Null,
            CancellationToken.None
        );

        Assert.True(approvedCode == 0, approved.ToString());
        Assert.Contains(", production (training:", approved.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("validate", RepoFile("samples/support-chat.jsonl")).Code);
    }

    [Fact]
    public void Samples_AreFitForTheirMethods()
    {
        Assert.Equal(0, CliRunner.Run("validate", RepoFile("samples/tone-dpo.jsonl")).Code);
        Assert.Equal(
            0,
            CliRunner
                .Run("validate", RepoFile("samples/arithmetic-rft.jsonl"), "--grader", RepoFile("samples/arithmetic-rft.grader.json"))
                .Code
        );
    }
}

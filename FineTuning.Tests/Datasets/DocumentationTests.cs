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
        Assert.Equal(0, code);
        Assert.Contains("Succeeded: registered", stdout.ToString(), StringComparison.Ordinal);
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

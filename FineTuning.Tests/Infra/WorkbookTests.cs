using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.Core.Workflow;
using FineTuning.Tests.Workflow;

namespace FineTuning.Tests.Infra;

/// <summary>
/// The Portal's view of runs: the workbook the Bicep deploys over the workspace, whose queries read the fields, event
/// names and category the orchestrators' events are logged with (and the Azure Monitor exporter adds).
/// </summary>
public partial class WorkbookTests
{
    private const string WorkbookFile = "infra/workbooks/runs.workbook.json";

    /// <summary>What the Azure Monitor exporter adds to every log record's properties (see <c>TelemetryTests</c>).</summary>
    private static readonly string[] ExporterFields = ["CategoryName", "EventName", "EventId"];

    private static string[] Queries()
    {
        using JsonDocument workbook = JsonDocument.Parse(File.ReadAllText(Repo.File(WorkbookFile)));
        return
        [
            .. workbook
                .RootElement.GetProperty("items")
                .EnumerateArray()
                .Where(i => i.GetProperty("type").GetInt32() == 3)
                .Select(i => i.GetProperty("content").GetProperty("query").GetString()!),
        ];
    }

    [GeneratedRegex(@"Properties\.([A-Za-z]+)")]
    private static partial Regex PropertyRead();

    [GeneratedRegex(@"EventName (?:== ""([A-Za-z]+)""|in \(((?:""[A-Za-z]+""(?:, )?)+)\))")]
    private static partial Regex EventNamesCompared();

    [Fact]
    public void TheBicep_DeploysTheWorkbook_OverTheWorkspace_WithTheQueriesInTheRepository()
    {
        JsonElement workbook = CompiledTemplate.ResourcesOf("workbook", "Microsoft.Insights/workbooks").Single();
        JsonElement properties = workbook.GetProperty("properties");

        // loadTextContent puts the file's text in a variable of the module's template.
        string variable = properties.GetProperty("serializedData").GetString()!["[variables('".Length..^"')]".Length];
        JsonElement template = CompiledTemplate.Module("workbook").GetProperty("properties").GetProperty("template");

        Assert.Equal(File.ReadAllText(Repo.File(WorkbookFile)), template.GetProperty("variables").GetProperty(variable).GetString());
        Assert.Equal("[parameters('workspaceId')]", properties.GetProperty("sourceId").GetString());
        Assert.Contains(
            "workspaceId",
            CompiledTemplate.Module("workbook").GetProperty("properties").GetRawText(),
            StringComparison.Ordinal
        );
    }

    [Fact]
    public void EveryQuery_ReadsFieldsTheOrchestratorsLog_OfEventsThatExist_InTheirCategory()
    {
        WorkflowEvent[] events = [.. ((IEnumerable<object[]>)WorkflowEventTests.Events()).Select(row => (WorkflowEvent)row[0])];
        HashSet<string> logged = [.. events.SelectMany(e => e.Fields()).Select(f => f.Key), .. ExporterFields];
        HashSet<string> names = [.. events.Select(e => e.GetType().Name)];
        string[] queries = Queries();

        Assert.True(queries.Length >= 5, "runs by status, runs, stage timeline, jobs, failures");
        Assert.All(queries, q =>
        {
            Assert.Contains($"tostring(Properties.CategoryName) == \"{WorkflowLog.Category}\"", q, StringComparison.Ordinal);
            Assert.All(PropertyRead().Matches(q), m => Assert.Contains(m.Groups[1].Value, logged));
            Assert.All(EventNamesCompared().Matches(q).SelectMany(m => (m.Groups[1].Value + m.Groups[2].Value).Split(", ")), name =>
                Assert.Contains(name.Trim('"'), names)
            );
        });
        // Every kind of event is read somewhere, so a new one is not silently left out of the Portal's view.
        string all = string.Join("\n", queries);
        Assert.All(names, name => Assert.Contains($"\"{name}\"", all, StringComparison.Ordinal));
    }
}

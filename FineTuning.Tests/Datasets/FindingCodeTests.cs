using System.Text;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;

namespace FineTuning.Tests.Datasets;

/// <summary>Every finding code the validator knows is produced by an input written to trigger it, at the right line.</summary>
public class FindingCodeTests
{
    private static readonly string Valid9 = Rows.Jsonl(Rows.ManyChats(9));

    private const string ImageRow =
        """{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, """
        + """{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}, {"role": "assistant", "content": "A cat."}]}""";

    [Fact]
    public void Images_AreFine_ForAModelThatIsFineTunedOnThem()
    {
        DatasetReport report = V(Valid9 + ImageRow + "\n", new ValidationOptions { Model = "gpt-4.1" });

        Assert.True(report.Fit);
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingCodes.ImagesNotSupported);
    }

    public sealed record CodeCase(string Code, Func<DatasetReport> Run, long ExpectedLine, string? PathContains = null)
    {
        public override string ToString() => Code;
    }

    private static DatasetReport V(string content, ValidationOptions? options = null) => Rows.Validate(content, options);

    private static string Msg(string role, string content) => $"{{\"role\": \"{role}\", \"content\": {Rows.Q(content)}}}";

    public static IEnumerable<CodeCase> AllCases()
    {
        string words = string.Join(' ', Enumerable.Repeat("alpha beta gamma delta", 1500)); // ~6,000 tokens
        GraderSpec grader = GraderSpec.Parse(
            "g.json",
            Encoding.UTF8.GetBytes(
                """{"type":"string_check","name":"g","input":"{{ item.reference_answer }}","reference":"{{ sample.output_text }}","operation":"eq"}"""
            )
        );
        ModelCatalog dated = ModelCatalog.Load(
            new MemoryStream(
                Encoding.UTF8.GetBytes(
                    """
                    {"defaultModel":"old","models":[{"name":"old","methods":["supervised"],"maxTokensPerExample":1000,"trainingPricePerMillionTokens":1,"acceptsJobsUntil":"2026-01-31"}]}
                    """
                )
            )
        );

        yield return new(FindingCodes.InvalidJson, () => V(Valid9 + "{\"messages\": [}\n"), 10);
        yield return new(
            FindingCodes.InvalidUtf8,
            () => Rows.Validate([.. Encoding.UTF8.GetBytes(Valid9), .. "{\"a\": \""u8.ToArray(), 0xFF, 0xFE, .. "\"}\n"u8.ToArray()]),
            10
        );
        yield return new(
            FindingCodes.LineTooLong,
            () => V(Valid9 + Rows.Chat(words) + "\n", new ValidationOptions { MaxLineBytes = 4096 }),
            10
        );
        yield return new(FindingCodes.TruncatedLastLine, () => V(Valid9 + "{\"messages\": [{\"role\": \"user\", \"content\": \"cut"), 10);
        yield return new(
            FindingCodes.DataType,
            () => V(Valid9 + "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}\n"),
            10,
            "messages[0].content"
        );
        yield return new(
            FindingCodes.DuplicateKey,
            () => V(Valid9 + "{\"messages\": [" + Msg("user", "a") + ", " + Msg("assistant", "b") + "], \"messages\": []}\n"),
            10,
            "messages"
        );
        yield return new(
            FindingCodes.MissingMessagesList,
            () => V(Valid9 + "{\"prompt\": \"a ->\", \"completion\": \" 1\"}\n"),
            10,
            "messages"
        );
        yield return new(FindingCodes.EmptyMessagesList, () => V(Valid9 + "{\"messages\": []}\n"), 10, "messages");
        yield return new(
            FindingCodes.MessageMissingKey,
            () => V(Valid9 + "{\"messages\": [{\"content\": \"hi\"}, " + Msg("assistant", "b") + "]}\n"),
            10,
            "messages[0]"
        );
        yield return new(
            FindingCodes.MessageUnrecognizedKey,
            () =>
                V(
                    Valid9
                        + "{\"messages\": ["
                        + Msg("user", "a")
                        + ", {\"role\": \"assistant\", \"content\": \"b\", \"loss_weight\": 1}]}\n"
                ),
            10,
            "messages[1].loss_weight"
        );
        yield return new(
            FindingCodes.UnrecognizedRole,
            () => V(Valid9 + "{\"messages\": [" + Msg("user", "a") + ", " + Msg("bot", "b") + "]}\n"),
            10,
            "messages[1].role"
        );
        yield return new(
            FindingCodes.MissingContent,
            () => V(Valid9 + "{\"messages\": [{\"role\": \"user\"}, " + Msg("assistant", "b") + "]}\n"),
            10,
            "messages[0].content"
        );
        yield return new(
            FindingCodes.InvalidContentPart,
            () =>
                V(
                    Valid9
                        + "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"value\": \"hi\"}]}, "
                        + Msg("assistant", "b")
                        + "]}\n"
                ),
            10,
            "messages[0].content[0]"
        );
        yield return new(
            FindingCodes.ExampleMissingAssistantMessage,
            () =>
                V(
                    Valid9 + "{\"messages\": [" + Msg("system", "s") + ", " + Msg("user", "u") + "]}\n",
                    new ValidationOptions { Method = FineTuningMethod.Supervised }
                ),
            10,
            "messages"
        );
        yield return new(
            FindingCodes.NoTrainedAssistantMessage,
            () => V(Valid9 + "{\"messages\": [" + Msg("user", "u") + ", {\"role\": \"assistant\", \"content\": \"a\", \"weight\": 0}]}\n"),
            10,
            "messages"
        );
        yield return new(
            FindingCodes.InvalidWeight,
            () => V(Valid9 + "{\"messages\": [" + Msg("user", "u") + ", {\"role\": \"assistant\", \"content\": \"a\", \"weight\": 2}]}\n"),
            10,
            "messages[1].weight"
        );
        yield return new(
            FindingCodes.InvalidToolCall,
            () =>
                V(
                    Valid9
                        + "{\"messages\": ["
                        + Msg("user", "u")
                        + ", {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\"}]}]}\n"
                ),
            10,
            "messages[1].tool_calls[0].function"
        );
        yield return new(
            FindingCodes.ToolCallIdMismatch,
            () =>
                V(
                    Valid9
                        + "{\"messages\": ["
                        + Msg("user", "u")
                        + ", {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": "
                        + "\"f\", \"arguments\": \"{}\"}}]}, {\"role\": \"tool\", \"tool_call_id\": \"c2\", \"content\": \"42\"}, "
                        + Msg("assistant", "done")
                        + "]}\n"
                ),
            10,
            "messages[2].tool_call_id"
        );
        yield return new(
            FindingCodes.InvalidTools,
            () =>
                V(
                    Valid9
                        + "{\"messages\": ["
                        + Msg("user", "u")
                        + ", "
                        + Msg("assistant", "a")
                        + "], \"tools\": [{\"type\": \"function\", \"function\": {}}]}\n"
                ),
            10,
            "tools[0].function.name"
        );
        yield return new(
            FindingCodes.DpoMissingInput,
            () =>
                V(
                    Rows.Dpo("q", "a", "b")
                        + "\n{\"preferred_output\": ["
                        + Msg("assistant", "a")
                        + "], \"non_preferred_output\": ["
                        + Msg("assistant", "b")
                        + "]}\n"
                ),
            2,
            "input"
        );
        yield return new(
            FindingCodes.DpoMissingOutput,
            () =>
                V(
                    Rows.Dpo("q", "a", "b")
                        + "\n{\"input\": {\"messages\": ["
                        + Msg("user", "q")
                        + "]}, \"preferred_output\": ["
                        + Msg("assistant", "a")
                        + "]}\n"
                ),
            2,
            "non_preferred_output"
        );
        yield return new(
            FindingCodes.DpoOutputNotAssistant,
            () =>
                V(
                    Rows.Dpo("q", "a", "b")
                        + "\n{\"input\": {\"messages\": ["
                        + Msg("user", "q")
                        + "]}, \"preferred_output\": ["
                        + Msg("user", "a")
                        + "], \"non_preferred_output\": ["
                        + Msg("assistant", "b")
                        + "]}\n"
                ),
            2,
            "preferred_output[0].role"
        );
        yield return new(
            FindingCodes.DpoIdenticalOutputs,
            () => V(Rows.Dpo("q", "a", "b") + "\n" + Rows.Dpo("q2", "same", "same") + "\n"),
            2
        );
        yield return new(
            FindingCodes.RftLastMessageNotUser,
            () =>
                V(
                    Rows.Rft("q", "a") + "\n{\"messages\": [" + Msg("user", "u") + ", " + Msg("assistant", "a") + "]}\n",
                    new ValidationOptions { Method = FineTuningMethod.Reinforcement }
                ),
            2,
            "messages[1].role"
        );
        yield return new(
            FindingCodes.GraderReferenceMissing,
            () => V(Rows.Rft("q", "a") + "\n{\"messages\": [" + Msg("user", "u") + "]}\n", new ValidationOptions { Grader = grader }),
            2,
            "reference_answer"
        );
        yield return new(FindingCodes.EmptyLine, () => V(Rows.Chat() + "\n\n" + Valid9), 2);
        yield return new(FindingCodes.MissingSystemMessage, () => V(Valid9 + Rows.Chat(system: null) + "\n"), 10, "messages");
        yield return new(
            FindingCodes.MissingUserMessage,
            () => V(Valid9 + "{\"messages\": [" + Msg("system", "s") + ", " + Msg("assistant", "a") + "]}\n"),
            10,
            "messages"
        );
        yield return new(
            FindingCodes.TooManyTokens,
            () =>
                V(
                    Valid9 + Rows.Chat(string.Join(' ', Enumerable.Repeat(words, 3))) + "\n",
                    new ValidationOptions { Model = "gpt-35-turbo-0125" }
                ),
            10
        );
        yield return new(
            FindingCodes.LongAssistantMessage,
            () => V(Valid9 + Rows.Chat(assistant: words) + "\n"),
            10,
            "messages[2].content"
        );
        yield return new(FindingCodes.Duplicate, () => V(Valid9 + Rows.Chat("Question 3?", "Answer 3.") + "\n"), 10);
        yield return new(
            FindingCodes.PossiblePii,
            () => V(Valid9 + Rows.Chat("Reach me at jane@example.com", "Noted.") + "\n"),
            10,
            "messages[1].content"
        );
        yield return new(FindingCodes.NearDuplicate, () => V(Valid9 + Rows.Chat("QUESTION  3", "answer 3!") + "\n"), 10);
        yield return new(FindingCodes.Bom, () => V("\uFEFF" + Valid9), 1);
        yield return new(FindingCodes.Crlf, () => V(Rows.Chat() + "\r\n" + Valid9), 1);
        yield return new(FindingCodes.EmptyFile, () => V(""), 0);
        yield return new(FindingCodes.TooFewExamples, () => V(Rows.Jsonl(Rows.ManyChats(3))), 0);
        yield return new(FindingCodes.FewTrainingExamples, () => V(Rows.Jsonl(Rows.ManyChats(10))), 0);
        yield return new(
            FindingCodes.TooManyExamples,
            () =>
                V(
                    Rows.Jsonl(Enumerable.Range(0, 1001).Select(i => Rows.Rft($"q{i}", "a"))),
                    new ValidationOptions { IsValidationFile = true }
                ),
            0
        );
        yield return new(FindingCodes.MixedFormats, () => V(Valid9 + Rows.Rft("q", "a") + "\n"), 0);
        yield return new(FindingCodes.ErrorRateExceeded, () => V(Valid9 + Rows.Chat("x", "y") + "\n{}\n"), 0);
        yield return new(
            FindingCodes.UnknownModel,
            () => V(Valid9 + Rows.Chat("x", "y") + "\n", new ValidationOptions { Model = "gpt-9-ultra" }),
            0
        );
        yield return new(
            FindingCodes.MethodNotSupported,
            () =>
                V(
                    Rows.Jsonl(Enumerable.Range(0, 10).Select(i => Rows.Dpo($"q{i}", "a", "b"))),
                    new ValidationOptions { Model = "gpt-35-turbo-0125" }
                ),
            0
        );
        yield return new(
            FindingCodes.MethodNotOnAzure,
            () =>
                V(
                    Rows.Jsonl(Enumerable.Range(0, 10).Select(i => Rows.Dpo($"q{i}", "a", "b"))),
                    new ValidationOptions { Model = "gpt-4o-mini-2024-07-18" }
                ),
            0
        );
        yield return new(
            FindingCodes.ModelRetired,
            () =>
                V(
                    Valid9 + Rows.Chat("x", "y") + "\n",
                    new ValidationOptions
                    {
                        Catalog = dated,
                        Model = "old",
                        Today = new DateOnly(2026, 11, 22),
                    }
                ),
            0
        );
        yield return new(
            FindingCodes.ModelRetiring,
            () =>
                V(
                    Valid9 + Rows.Chat("x", "y") + "\n",
                    new ValidationOptions
                    {
                        Catalog = dated,
                        Model = "old",
                        Today = new DateOnly(2026, 1, 1),
                    }
                ),
            0
        );
        yield return new(
            FindingCodes.FileOverUploadLimit,
            () => DatasetReport.From(new ShardReport { Bytes = 600L << 20, Rows = 1 }, "big.jsonl", new ValidationOptions()),
            0
        );
        yield return new(
            FindingCodes.FileTooLarge,
            () => DatasetReport.From(new ShardReport { Bytes = 9L << 30, Rows = 1 }, "huge.jsonl", new ValidationOptions()),
            0
        );
        yield return new(
            FindingCodes.ManySystemPrompts,
            () => V(Rows.Jsonl(Enumerable.Range(0, 20).Select(i => Rows.Chat($"q{i}", "a", system: $"You are assistant number {i}.")))),
            0
        );
        yield return new(
            FindingCodes.ImagesNotSupported,
            () => V(Valid9 + ImageRow + "\n", new ValidationOptions { Model = "gpt-4.1-mini" }),
            10
        );
        yield return new(FindingCodes.TopicImbalance, () => V(Rows.Jsonl(Rows.ManyChats(120, i => i < 110 ? "billing" : "returns"))), 0);
        yield return new(
            FindingCodes.InvalidGrader,
            () =>
                V(
                    Rows.Jsonl(Enumerable.Range(0, 10).Select(i => Rows.Rft($"q{i}", "a"))),
                    new ValidationOptions
                    {
                        Grader = GraderSpec.Parse(
                            "bad.json",
                            """{"type":"string_check","name":"g","input":"{{ item.x }}","reference":"y","operation":"equals"}"""u8
                        ),
                    }
                ),
            0,
            "grader.operation"
        );
    }

    public static TheoryData<CodeCase> Cases()
    {
        var data = new TheoryData<CodeCase>();
        foreach (CodeCase c in AllCases())
            data.Add(c);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Code_IsReportedAtItsLineAndPath(CodeCase c)
    {
        DatasetReport report = c.Run();

        Assert.True(report.Counts.ContainsKey(c.Code), $"{c.Code} not reported; got {string.Join(", ", report.Counts.Keys)}");
        Finding finding = Assert.Single(report.Findings, f => f.Code == c.Code && f.Line == c.ExpectedLine);
        Assert.Equal(FindingCodes.Get(c.Code).Severity, finding.Severity);
        Assert.False(string.IsNullOrWhiteSpace(finding.Message));
        // The report says what to do about each code it found (the dashboard shows it beside the findings).
        Assert.Equal(FindingCodes.Get(c.Code).Remedy, report.Remedies[c.Code]);
        Assert.Equal(report.Counts.Keys.Order(StringComparer.Ordinal), report.Remedies.Keys);
        if (c.PathContains is not null)
        {
            Assert.Contains(c.PathContains, finding.Path, StringComparison.Ordinal);
        }

        if (FindingCodes.Get(c.Code) is { Severity: Severity.Error, Scope: FindingScope.Dataset })
        {
            Assert.False(report.Fit);
        }
    }

    [Fact]
    public void EveryCode_HasACaseThatProducesIt()
    {
        var covered = AllCases().Select(c => c.Code).ToHashSet();
        string[] missing = FindingCodes.All.Select(c => c.Code).Where(c => !covered.Contains(c)).ToArray();
        Assert.Empty(missing);
    }

    [Fact]
    public void ValidDataset_HasNoFindingsAndIsFit()
    {
        DatasetReport report = V(Rows.Jsonl(Rows.ManyChats(12)));

        Assert.True(report.Fit);
        Assert.Empty(report.Counts);
        Assert.Equal(12, report.Examples);
        Assert.Equal("supervised", report.Method);
    }

    [Fact]
    public void InvalidRow_MessageNamesLinePathAndProblem()
    {
        DatasetReport report = V(Valid9 + "{\"messages\": [" + Msg("user", "a") + ", " + Msg("bot", "b") + "]}\n");

        Finding f = Assert.Single(report.Findings, x => x.Code == FindingCodes.UnrecognizedRole);
        Assert.Equal("line 10, messages[1].role: \"bot\" is not a role (system, developer, user, assistant, tool)", f.ToString());
    }
}

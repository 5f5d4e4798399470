using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;

namespace FineTuning.Tests.Workflow;

public class RunRequestTests
{
    [Fact]
    public void GoodRequest_HasNoProblems()
    {
        var request = new RunRequest
        {
            DatasetBlob = "datasets/support-chat.jsonl",
            Method = "supervised",
            Hyperparameters = new Hyperparameters(Epochs: 3),
        };

        Assert.Empty(request.Problems());
    }

    [Theory]
    [InlineData("datasets/a-valid.jsonl", null)]
    [InlineData("datasets/a.jsonl", "names the dataset itself")]
    [InlineData("../secret.jsonl", "")]
    public void AValidationBlob_IsAFileOfItsOwn_NamedAsADatasetIs(string blob, string? problem)
    {
        var request = new RunRequest { DatasetBlob = "datasets/a.jsonl", ValidationBlob = blob };

        IReadOnlyDictionary<string, string[]> problems = request.Problems();

        if (problem is null)
            Assert.Empty(problems);
        else
            Assert.Contains(problem, Assert.Single(problems["validationBlob"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(
        "supervised",
        """{"type":"string_check","name":"x","input":"{{ sample.output_text }}","reference":"{{ item.reference }}","operation":"eq"}""",
        null
    )]
    [InlineData(
        "auto",
        """
            {"type":"text_similarity","name":"x","input":"{{ sample.output_text }}","reference":"{{ item.reference }}",
             "evaluation_metric":"bleu"}
            """,
        null
    )]
    [InlineData(
        "reinforcement",
        """{"type":"string_check","name":"x","input":"{{ sample.output_text }}","reference":"{{ item.reference }}","operation":"eq"}""",
        "scored by its own grader"
    )]
    [InlineData(
        "supervised",
        """{"type":"score_model","name":"x","model":"gpt-4.1","input":[{"role":"user","content":"Rate {{ sample.output_text }}"}]}""",
        "a score_model grader cannot score the evaluation here"
    )]
    [InlineData(
        "supervised",
        """
            {"type":"multi","name":"m","graders":{"a":{"type":"python","name":"p","source":"def grade(s, i): return 1"}},
             "calculate_output":"a"}
            """,
        "a python grader cannot"
    )]
    [InlineData("dpo", """{"type":"string_check"}""", "evalGrader")]
    public void AnEvaluationGrader_IsAStringCheckOrTextSimilarity_ForSupervisedAndDpoRuns(string method, string grader, string? problem)
    {
        using JsonDocument json = JsonDocument.Parse(grader);
        var request = new RunRequest
        {
            DatasetBlob = "datasets/a.jsonl",
            Method = method,
            EvalGrader = json.RootElement.Clone(),
            Grader = method == "reinforcement" ? json.RootElement.Clone() : null,
        };

        IReadOnlyDictionary<string, string[]> problems = request.Problems();

        if (problem is null)
            Assert.Empty(problems);
        else
            Assert.Contains(problem, Assert.Single(problems["evalGrader"]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(RunRequest.MaxAttempt + 1)]
    [InlineData(int.MaxValue)]
    public void AttemptsAtTheEdge_AreRefused(int attempt)
    {
        var request = new RunRequest { DatasetBlob = "datasets/a.jsonl", Attempt = attempt };

        Assert.Equal("must be between 1 and 1,000", Assert.Single(request.Problems()["attempt"]));
    }

    [Fact]
    public void AnUnknownModel_IsRefusedUnlessAllowed()
    {
        var unknown = new RunRequest { DatasetBlob = "datasets/a.jsonl", BaseModel = "gpt-99" };

        Assert.Contains("is not in the model catalogue", Assert.Single(unknown.Problems()["baseModel"]), StringComparison.Ordinal);
        Assert.Empty((unknown with { AllowUnknownModel = true }).Problems());
        Assert.Empty((unknown with { BaseModel = "ft:gpt-4.1-mini-2025-04-14:personal:x:1" }).Problems());
    }

    [Fact]
    public void APreviewModel_IsRefusedUnlessAllowed_SayingWhatIsKnownOfIt()
    {
        // GPT-5 reinforcement is by invitation on Azure, with no published limit or price: named, not catalogued.
        var preview = new RunRequest
        {
            DatasetBlob = "datasets/a.jsonl",
            BaseModel = "gpt-5",
            Method = "reinforcement",
        };

        string problem = Assert.Single(preview.Problems()["baseModel"]);
        Assert.Contains("\"gpt-5\" is fine-tuned on Azure OpenAI by invitation only", problem, StringComparison.Ordinal);
        Assert.Contains("not published", problem, StringComparison.Ordinal);
        Assert.Contains("--allow-unknown-model", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("baseModel", (preview with { AllowUnknownModel = true }).Problems().Keys);
    }

    [Fact]
    public void BadRequest_ListsEveryFieldThatIsWrong()
    {
        var request = new RunRequest
        {
            DatasetBlob = "",
            Method = "chat",
            TrainRatio = -0.5,
            PollInterval = TimeSpan.Zero,
            Hyperparameters = new Hyperparameters(Epochs: 0),
        };

        IReadOnlyDictionary<string, string[]> problems = request.Problems();

        Assert.Equal(
            ["datasetBlob", "hyperparameters.epochs", "method", "pollInterval", "trainRatio"],
            problems.Keys.Order(StringComparer.Ordinal)
        );
        Assert.Contains("\"chat\" is not a method", problems["method"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void Reinforcement_NeedsAValidGrader()
    {
        Assert.Contains(
            "grader",
            new RunRequest { DatasetBlob = "datasets/a.jsonl", Method = "reinforcement" }
                .Problems()
                .Keys
        );

        using JsonDocument bad = JsonDocument.Parse(
            """{"type":"string_check","name":"g","input":"x","reference":"y","operation":"equals"}"""
        );
        IReadOnlyDictionary<string, string[]> problems = new RunRequest
        {
            DatasetBlob = "datasets/a.jsonl",
            Method = "reinforcement",
            Grader = bad.RootElement.Clone(),
        }.Problems();

        Assert.Equal(["grader.operation"], problems.Keys);
    }

    [Fact]
    public void Request_RoundTripsThroughJson_AsAnOrchestrationInput()
    {
        using JsonDocument grader = JsonDocument.Parse(
            """{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{item.a}}","operation":"eq"}"""
        );
        var request = new RunRequest
        {
            DatasetBlob = "datasets/a.jsonl",
            Method = "reinforcement",
            Grader = grader.RootElement.Clone(),
            Hyperparameters = new Hyperparameters(Epochs: 2, ReasoningEffort: "medium"),
            Deadline = TimeSpan.FromHours(6),
            Tags = new Dictionary<string, string> { ["team"] = "support" },
        };

        RunRequest back = JsonSerializer.Deserialize<RunRequest>(
            JsonSerializer.Serialize(request, ReportSerializer.Options),
            ReportSerializer.Options
        )!;

        Assert.Equal(JsonSerializer.Serialize(request, ReportSerializer.Options), JsonSerializer.Serialize(back, ReportSerializer.Options));
        Assert.Equal(TimeSpan.FromHours(6), back.Deadline);
        Assert.Empty(back.Problems());
    }

    [Fact]
    public void RetryPolicy_BacksOffUpToItsCap()
    {
        RetryPolicy policy = Retries.Transient;

        Assert.Equal(
            [
                TimeSpan.FromSeconds(5),
                TimeSpan.FromSeconds(10),
                TimeSpan.FromSeconds(20),
                TimeSpan.FromSeconds(40),
                TimeSpan.FromSeconds(80),
                TimeSpan.FromMinutes(2),
            ],
            Enumerable.Range(2, 6).Select(policy.DelayBefore)
        );
    }
}

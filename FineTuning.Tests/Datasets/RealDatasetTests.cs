using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;

namespace FineTuning.Tests.Datasets;

/// <summary>The public datasets in Datasets/real give the verdicts their SOURCES.md expects.</summary>
public class RealDatasetTests
{
    private static string Real(string name) => Path.Combine(AppContext.BaseDirectory, "Datasets", "real", name);

    private static DatasetReport Validate(string name, string? grader = null, FineTuningMethod method = FineTuningMethod.Auto)
    {
        var options = new ValidationOptions { Method = method, Grader = grader is null ? null : GraderSpec.Load(Real(grader)) };
        return new DatasetValidator(options).ValidateFile(Real(name));
    }

    [Theory]
    [InlineData("sft-openai-cookbook-drone-tools.jsonl", "supervised", 86)]
    [InlineData("sft-foundry-gsm8k-validation.jsonl", "supervised", 50)]
    [InlineData("sft-foundry-stock-toolcall-training.jsonl", "supervised", 86)]
    [InlineData("sft-foundry-zava-tooluse-multiturn-valid.jsonl", "supervised", 55)]
    [InlineData("sft-genai-beginners-limericks-10-no-final-newline.jsonl", "supervised", 10)]
    [InlineData("dpo-foundry-orca-validation.jsonl", "dpo", 284)]
    [InlineData("rft-foundry-agentic-toolcall-train.jsonl", "reinforcement", 10)]
    public void ValidDatasets_AreFitWithoutErrors(string file, string method, long examples)
    {
        DatasetReport report = Validate(file);

        Assert.True(report.Fit, report.Verdict);
        Assert.Equal(method, report.Method);
        Assert.Equal(examples, report.Examples);
        Assert.Equal(0, report.ErrorRows);
        Assert.Equal(0, report.Errors);
    }

    [Theory]
    [InlineData("rft-foundry-countdown-train-25.jsonl", "rft-foundry-countdown-train-25.grader.json", 25)]
    [InlineData("rft-foundry-clause-matching-validation.jsonl", "rft-foundry-clause-matching-validation.grader.json", 40)]
    [InlineData("rft-foundry-clause-matching-validation.jsonl", "rft-foundry-clause-matching-validation.score-model.grader.json", 40)]
    [InlineData("rft-foundry-zava-retail-tools-train.jsonl", "rft-foundry-zava-retail-tools-train.grader.json", 10)]
    public void ReinforcementDatasets_WithTheirGraders_AreFit(string file, string grader, long examples)
    {
        DatasetReport report = Validate(file, grader);

        Assert.True(report.Fit, report.Verdict + " " + string.Join("; ", report.Findings));
        Assert.Equal("reinforcement", report.Method);
        Assert.Equal("o4-mini-2025-04-16", report.Model);
        Assert.Equal(examples, report.Examples);
        Assert.Equal(0, report.Errors);
    }

    [Fact]
    public void Graders_OfThePublishedSamples_AreValidAndReferenceTheirFields()
    {
        Assert.Equal(["nums", "target"], GraderSpec.Load(Real("rft-foundry-countdown-train-25.grader.json")).ItemReferences);
        Assert.Equal(
            ["clause_type", "extracted_text"],
            GraderSpec.Load(Real("rft-foundry-clause-matching-validation.grader.json")).ItemReferences
        );
        Assert.All(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Datasets", "real"), "*.grader.json"), g =>
            Assert.True(GraderSpec.Load(g).IsValid, string.Join("; ", GraderSpec.Load(g).Findings))
        );
    }

    [Fact]
    public void MedMcq_WithItsGrader_IsNotFitBecauseNoRowHasTheReferencedField()
    {
        DatasetReport report = Validate(
            "rft-foundry-medmcq-validation-no-reference.jsonl",
            "rft-foundry-medmcq-validation-no-reference.grader.json"
        );

        Assert.False(report.Fit);
        Assert.Equal(6150, report.Counts[FindingCodes.GraderReferenceMissing]);
        Assert.Contains(
            "item.reference_answer",
            report.Findings.First(f => f.Code == FindingCodes.GraderReferenceMissing).Message,
            StringComparison.Ordinal
        );
    }

    [Fact]
    public void ToyChat_IsRejectedForTooFewExamplesAndWarnsOnLines4And5()
    {
        DatasetReport report = Validate("sft-openai-cookbook-toy-chat-defects.jsonl");

        Assert.False(report.Fit);
        Assert.Contains(FindingCodes.TooFewExamples, report.Counts.Keys);
        Assert.Contains(report.Findings, f => f.Code == FindingCodes.MissingUserMessage && f.Line == 4);
        Assert.Contains(report.Findings, f => f.Code == FindingCodes.LongAssistantMessage && f.Line == 5);
        Assert.Contains(report.Findings, f => f.Code == FindingCodes.MissingSystemMessage && f.Line == 3);
    }

    [Theory]
    [InlineData("invalid-legacy-prompt-completion-azure-aoaisearch-train.jsonl", "missing_messages_list", "legacy prompt/completion")]
    [InlineData("invalid-foundry-sarcasm-question-answer.jsonl", "missing_messages_list", "question/answer")]
    [InlineData("invalid-foundry-countdown-raw-target-nums.jsonl", "missing_messages_list", "no messages list")]
    [InlineData("invalid-foundry-countdown-eval-item-wrapper.jsonl", "missing_messages_list", "Evals data-source")]
    [InlineData("invalid-llamafactory-v1-sft-value-parts-loss-weight.jsonl", "message_unrecognized_key", "`weight`")]
    [InlineData("invalid-llamafactory-v1-sft-value-parts-loss-weight.jsonl", "invalid_content_part", "not `value`")]
    [InlineData("invalid-llamafactory-v1-dpo-chosen-rejected-messages.jsonl", "missing_messages_list", "preferred_output")]
    [InlineData("invalid-llamafactory-v1-multimodal-local-image-paths.jsonl", "invalid_content_part", "image_url")]
    [InlineData("invalid-llamafactory-identity-alpaca-json-array.jsonl", "invalid_json", "JSON array")]
    public void InvalidDatasets_AreNotFit_WithAFindingThatSaysWhy(string file, string code, string says)
    {
        DatasetReport report = Validate(file);

        Assert.False(report.Fit);
        Assert.Contains(report.Findings, f => f.Code == code && f.Message.Contains(says, StringComparison.Ordinal));
    }

    [Fact]
    public void Multimodal_TrailingBlankLineIsReported()
    {
        DatasetReport report = Validate("invalid-llamafactory-v1-multimodal-local-image-paths.jsonl");

        Assert.Contains(report.Findings, f => f.Code == FindingCodes.EmptyLine && f.Line == 25);
    }

    [Fact]
    public void Drone_DuplicateIsReportedWithTheLineOfTheFirstOccurrence()
    {
        DatasetReport report = Validate("sft-openai-cookbook-drone-tools.jsonl");

        Finding duplicate = Assert.Single(report.Findings, f => f.Code == FindingCodes.Duplicate);
        Assert.Equal(19, duplicate.Line);
        Assert.Contains("line 17", duplicate.Message, StringComparison.Ordinal);
    }
}

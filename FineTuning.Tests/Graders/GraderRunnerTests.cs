using System.Text.Json;
using FineTuning.Core.Graders;

namespace FineTuning.Tests.Graders;

public class GraderRunnerTests
{
    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static GraderRunResult Run(string grader, string sample, string item) => GraderRunner.Run(Json(grader), sample, Json(item));

    [Theory]
    [InlineData("eq", "Paris", "Paris", 1)]
    [InlineData("eq", "paris", "Paris", 0)]
    [InlineData("ne", "Lyon", "Paris", 1)]
    [InlineData("like", "It is Paris.", "Paris", 1)]
    [InlineData("ilike", "it is PARIS.", "paris", 1)]
    [InlineData("like", "It is Lyon.", "Paris", 0)]
    public void StringCheck_ComparesTheRenderedTemplates(string operation, string sample, string answer, double expected)
    {
        GraderRunResult result = Run(
            $$$"""{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{ item.answer }}","operation":"{{{operation}}}"}""",
            sample,
            $$"""{"answer":"{{answer}}"}"""
        );

        Assert.Equal(expected, result.Reward);
        Assert.Empty(result.Errors);
    }

    [Fact]
    public void TextSimilarity_ScoresIdenticalAsOneAndUnrelatedLow()
    {
        string Grader(string metric) =>
            $$$"""{"type":"text_similarity","name":"g","input":"{{sample.output_text}}","reference":"{{item.answer}}","evaluation_metric":"{{{metric}}}"}""";
        const string item = """{"answer":"the cat sat on the mat"}""";

        foreach (string metric in new[] { "fuzzy_match", "bleu", "rouge_1", "rouge_2", "rouge_l" })
        {
            Assert.Equal(1.0, Run(Grader(metric), "the cat sat on the mat", item).Reward, 6);
            Assert.True(Run(Grader(metric), "quantum chromodynamics explained", item).Reward < 0.3, metric);
        }

        Assert.InRange(Run(Grader("fuzzy_match"), "the cat sat on a mat", item).Reward, 0.85, 0.99);
    }

    [Fact]
    public void Multi_CombinesSubGradersWithItsFormula_OverOutputJson()
    {
        string grader = File.ReadAllText(
            Path.Combine(AppContext.BaseDirectory, "Datasets", "real", "rft-foundry-clause-matching-validation.grader.json")
        );
        const string item = """{"clause_type":"Exclusivity","extracted_text":"The Distributor shall be the exclusive distributor."}""";

        GraderRunResult right = Run(
            grader,
            """{"clause_type":"Exclusivity","extracted_text":"The Distributor shall be the exclusive distributor."}""",
            item
        );
        GraderRunResult wrongType = Run(
            grader,
            """{"clause_type":"Non-Compete","extracted_text":"The Distributor shall be the exclusive distributor."}""",
            item
        );

        Assert.Equal(1.0, right.Reward, 6);
        Assert.Equal(0.5, wrongType.Reward, 6);
        Assert.Equal(0.0, wrongType.SubRewards["clause_string_check"]);
    }

    [Fact]
    public void Python_IsNotExecutedAndSaysSo()
    {
        GraderRunResult result = Run("""{"type":"python","name":"p","source":"def grade(s, i): return 1"}""", "x", "{}");

        Assert.Equal(0, result.Reward);
        Assert.Contains(result.Errors, e => e.Contains("not executed", StringComparison.Ordinal));
    }
}

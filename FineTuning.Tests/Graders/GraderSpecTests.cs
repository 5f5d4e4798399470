using FineTuning.Core.Graders;

namespace FineTuning.Tests.Graders;

public class GraderSpecTests
{
    [Theory]
    [InlineData(
        """{"type":"string_check","name":"g","input":"{{sample.output_text}}","reference":"{{item.answer}}","operation":"ilike"}"""
    )]
    [InlineData(
        """{"type":"text_similarity","name":"g","input":"{{sample.output_text}}","reference":"{{item.answer}}","evaluation_metric":"rouge_l","pass_threshold":0.5}"""
    )]
    [InlineData(
        """{"type":"score_model","name":"g","model":"o3-mini","input":[{"role":"user","content":"Rate {{sample.output_text}} against {{ item.answer }}"}],"range":[0,1]}"""
    )]
    [InlineData(
        """{"type":"label_model","name":"g","model":"gpt-4o","input":[{"role":"user","content":"{{item.answer}}"}],"labels":["good","bad"],"passing_labels":["good"]}"""
    )]
    [InlineData("""{"type":"python","name":"g","source":"def grade(sample, item):\n    return 1.0"}""")]
    [InlineData(
        """{"type":"multi","name":"m","graders":{"a":{"type":"string_check","name":"a","input":"{{sample.output_text}}","reference":"{{item.answer}}","operation":"eq"}},"calculate_output":"min(a, 1)"}"""
    )]
    [InlineData("""{"grader":{"type":"string_check","name":"g","input":"x","reference":"y","operation":"eq"}}""")]
    public void ValidGraders_HaveNoFindings(string json)
    {
        GraderSpec grader = GraderSpec.Parse("g.json", System.Text.Encoding.UTF8.GetBytes(json));

        Assert.True(grader.IsValid, string.Join("; ", grader.Findings));
    }

    [Theory]
    [InlineData("""{"type":"string_check","name":"g","input":"x","reference":"y","operation":"equals"}""", "grader.operation")]
    [InlineData(
        """{"type":"text_similarity","name":"g","input":"x","reference":"y","evaluation_metric":"jaccard"}""",
        "grader.evaluation_metric"
    )]
    [InlineData("""{"type":"score_model","name":"g","model":"m","input":[],"range":[0,1]}""", "grader.input")]
    [InlineData("""{"type":"score_model","name":"g","model":"m","input":[{"role":"user","content":"x"}],"range":[1,0]}""", "grader.range")]
    [InlineData(
        """{"type":"label_model","name":"g","model":"m","input":[{"role":"user","content":"x"}],"labels":["a"],"passing_labels":["b"]}""",
        "grader.passing_labels"
    )]
    [InlineData(
        """{"type":"multi","name":"m","graders":{"a":{"type":"python","name":"a","source":"x"}},"calculate_output":"a + b"}""",
        "grader.calculate_output"
    )]
    [InlineData(
        """{"type":"multi","name":"m","graders":{"a":{"type":"nope","name":"a"}},"calculate_output":"a"}""",
        "grader.graders.a.type"
    )]
    [InlineData("""{"type":"string_check","name":"g","input":"{{ row.answer }}","reference":"y","operation":"eq"}""", "grader.input")]
    [InlineData("""{"name":"g"}""", "grader.type")]
    [InlineData("""[1]""", "grader")]
    [InlineData("""{"type": """, "grader")]
    public void InvalidGraders_NameThePath(string json, string path)
    {
        GraderSpec grader = GraderSpec.Parse("bad.json", System.Text.Encoding.UTF8.GetBytes(json));

        Assert.False(grader.IsValid);
        Assert.Contains(grader.Findings, f => f.Path == path && f.Message.StartsWith("bad.json: ", StringComparison.Ordinal));
    }

    [Fact]
    public void References_AreCollectedFromEveryStringIncludingNestedPaths()
    {
        GraderSpec grader = GraderSpec.Parse(
            "g.json",
            """{"type":"score_model","name":"g","model":"m","input":[{"role":"user","content":"{{item.a}} {{ item.meta.id }} {{sample.output_json.x}}"}]}"""u8
        );

        Assert.Equal(["a", "meta.id"], grader.ItemReferences);
    }
}

using System.Text.Json;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Emulator;
using FineTuning.OpenAI;

namespace FineTuning.Tests.Evaluation;

/// <summary>
/// The emulator's models, as the evaluation will call them: through the real provider over HTTP, answering right as
/// often as their seeded skill says (per kind and topic), the same answer to the same question, and a judge that reads
/// the product's rubrics.
/// </summary>
public sealed class EmulatedModelsTests : IAsyncLifetime
{
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions { Skill = new EmulatorSkill { FineTunedByTopic = new Dictionary<string, double> { ["returns"] = 0.1 } } }
        );

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    private OpenAIFineTuningProvider Provider() => Emulated.Provider(_emulator, "k");

    private static JsonElement Messages(params (string Role, string Content)[] turns) =>
        JsonSerializer.SerializeToElement(turns.Select(t => new Dictionary<string, string> { ["role"] = t.Role, ["content"] = t.Content }));

    private static JsonElement Question(int i) => Messages(("system", "You are a support agent."), ("user", $"Question number {i}?"));

    private static bool IsRight(string answer) => answer.Contains("[emulated:right]", StringComparison.Ordinal);

    [Theory]
    [InlineData("gpt-4.1-mini-2025-04-14", "billing", 0.4)]
    [InlineData("ft:gpt-4.1-mini-2025-04-14:emulator::emu1", "billing", 0.7)]
    [InlineData("ft:gpt-4.1-mini-2025-04-14:emulator::emu1", "returns", 0.1)]
    public async Task AModel_AnswersRight_AsOftenAsItsSkillForTheTopic(string model, string topic, double skill)
    {
        OpenAIFineTuningProvider provider = Provider();

        ChatAnswer[] answers = await Task.WhenAll(
            Enumerable.Range(0, 300).Select(i => provider.CompleteChatAsync(model, Question(i), topic))
        );

        double share = answers.Count(a => IsRight(a.Text)) / 300.0;
        Assert.InRange(share, skill - 0.08, skill + 0.08); // 300 draws: about 3 standard deviations
        Assert.All(answers, a => Assert.True(a.PromptTokens > 0 && a.CompletionTokens > 0));
    }

    [Fact]
    public async Task TheSameQuestion_GetsTheSameAnswer()
    {
        OpenAIFineTuningProvider provider = Provider();

        ChatAnswer first = await provider.CompleteChatAsync("gpt-4.1-mini", Question(7), "billing");
        ChatAnswer again = await provider.CompleteChatAsync("gpt-4.1-mini", Question(7), "billing");

        Assert.Equal(first.Text, again.Text);
    }

    [Fact]
    public async Task TheJudge_ScoresAndComparesWithTheProductsRubrics()
    {
        OpenAIFineTuningProvider provider = Provider();
        const string right = "Refunds take 5 days [emulated:right]",
            wrong = "I cannot help [emulated:wrong]";

        async Task<string> Ask(string rubric, string request) =>
            (await provider.CompleteChatAsync("gpt-4.1", Messages(("system", rubric), ("user", request)))).Text;

        Assert.Equal(
            1.0,
            EvaluationPrompts.ReadScore(await Ask(EvaluationPrompts.ScoreRubric, EvaluationPrompts.ScoreRequest("q", "ref", right)))
        );
        Assert.Equal(
            0.0,
            EvaluationPrompts.ReadScore(await Ask(EvaluationPrompts.ScoreRubric, EvaluationPrompts.ScoreRequest("q", "ref", wrong)))
        );
        string first = EvaluationPrompts.ReadVerdict(
            await Ask(EvaluationPrompts.PairwiseRubric, EvaluationPrompts.PairwiseRequest("q", "ref", right, wrong))
        );
        string second = EvaluationPrompts.ReadVerdict(
            await Ask(EvaluationPrompts.PairwiseRubric, EvaluationPrompts.PairwiseRequest("q", "ref", wrong, right))
        );
        Assert.Equal(Preference.FineTuned, EvaluationPrompts.Combine(first, second));
        Assert.Equal(
            "TIE",
            EvaluationPrompts.ReadVerdict(
                await Ask(EvaluationPrompts.PairwiseRubric, EvaluationPrompts.PairwiseRequest("q", "ref", wrong, wrong))
            )
        );
    }

    [Fact]
    public async Task ARequestWithoutMessages_IsA400_TheProviderReports()
    {
        OpenAIFineTuningProvider provider = Provider();

        ProviderException refused = await Assert.ThrowsAnyAsync<ProviderException>(() =>
            provider.CompleteChatAsync("gpt-4.1", JsonSerializer.SerializeToElement(Array.Empty<object>()))
        );

        Assert.Equal(400, refused.Status);
    }

    [Theory]
    [InlineData("0.8", 0.8)]
    [InlineData("Score: 1", 1.0)]
    [InlineData("7", 1.0)]
    [InlineData("no idea", null)]
    public void AJudgesScore_IsReadAndClamped(string reply, double? score) => Assert.Equal(score, EvaluationPrompts.ReadScore(reply));

    [Theory]
    [InlineData("A", "B", Preference.FineTuned)]
    [InlineData("B", "A", Preference.Base)]
    [InlineData("A", "A", Preference.Tie)] // position bias: the orders disagree
    [InlineData("TIE", "B", Preference.Tie)]
    public void BothOrders_DecideTogether(string first, string second, Preference expected) =>
        Assert.Equal(expected, EvaluationPrompts.Combine(first, second));
}

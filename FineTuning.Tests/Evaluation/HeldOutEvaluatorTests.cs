using FineTuning.Core.Datasets;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Splitting;
using FineTuning.Emulator;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Evaluation;

/// <summary>
/// Held-out rows from a real split, answered and judged by the emulator's models through the real provider, kept per
/// row, and summarised: a model that improves on two topics and regresses on a third is told apart, and rows already
/// evaluated are never asked again.
/// </summary>
public sealed class HeldOutEvaluatorTests : IAsyncLifetime, IDisposable
{
    private const string FineTuned = "ft:gpt-4.1-mini-2025-04-14:emulator::emu1";
    private static readonly EvaluationModels Models = new("gpt-4.1-mini-2025-04-14", FineTuned, "gpt-4.1");
    private readonly TempDir _dir = new();
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Skill = new EmulatorSkill
                {
                    Base = 0.4,
                    FineTuned = 0.8,
                    FineTunedByTopic = new Dictionary<string, double> { ["returns"] = 0.1 },
                },
            }
        );

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    /// <summary>A split's test.jsonl of 3 topics, 50 rows each, as (line, json).</summary>
    private List<(long Line, string Json)> HeldOut()
    {
        string data = _dir.Write("data.jsonl", Rows.Jsonl(Rows.ManyChats(1500, i => i % 3 == 0 ? "billing"
                    : i % 3 == 1 ? "shipping"
                    : "returns")));
        new StratifiedSplitter(new ValidationOptions(), new SplitOptions { TestRatio = 0.1 }).Split(data, _dir.File("split"));
        return [.. File.ReadAllLines(_dir.File("split/test.jsonl")).Select((json, i) => ((long)i + 1, json))];
    }

    [Fact]
    public async Task AModelBetterOnTwoTopicsAndWorseOnAThird_IsRejected_NamingThatTopic_AndRowsAreNeverAskedTwice()
    {
        List<(long Line, string Json)> rows = HeldOut();
        var blobs = new FileSystemBlobStore(_dir.File("blobs"));
        var evaluator = new HeldOutEvaluator(Emulated.Provider(_emulator, "k"), blobs);

        IReadOnlyList<EvaluatedRow> evaluated = await evaluator.EvaluateAsync(
            rows,
            "topic",
            Models,
            "runs/r1/evaluation/rows/",
            concurrency: 8
        );
        EvaluationSummary summary = EvaluationStatistics.Compute(evaluated, new PromotionPolicy());

        Assert.Equal(150, evaluated.Count);
        Assert.All(evaluated, r => Assert.Contains(r.Topic, (string[])["billing", "shipping", "returns"]));
        ScoreComparison returns = summary.Topics.Single(t => t.Name == "returns");
        Assert.True(returns.FineTunedScore < returns.BaseScore, "the fine-tuned model is worse on returns");
        Assert.All(summary.Topics.Where(t => t.Name != "returns"), t => Assert.True(t.FineTunedScore > t.BaseScore, t.Name));
        Assert.Equal(["returns"], summary.RegressedTopics);
        PromotionDecision decision = new PromotionPolicy().Decide(summary);
        Assert.False(decision.Passed);
        Assert.Contains(decision.Reasons, r => r.Contains("topic 'returns' fell", StringComparison.Ordinal));

        // Run again with the service gone (as after a crash, every row kept): nothing is asked, the same rows come back.
        await _emulator.DisposeAsync();
        IReadOnlyList<EvaluatedRow> again = await evaluator.EvaluateAsync(
            rows,
            "topic",
            Models,
            "runs/r1/evaluation/rows/",
            concurrency: 8
        );
        Assert.Equal(
            evaluated.Select(r => (r.RowId, r.BaseScore, r.FineTunedScore)).Order(),
            again.Select(r => (r.RowId, r.BaseScore, r.FineTunedScore)).Order()
        );
        _emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
    }

    [Fact]
    public async Task AModelBetterEverywhere_PassesThePolicy_WithAJudgeThatPrefersIt()
    {
        await using EmulatorServer better = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Skill = new EmulatorSkill { Base = 0.3, FineTuned = 0.9 },
            }
        );
        var evaluator = new HeldOutEvaluator(Emulated.Provider(better, "k"), new FileSystemBlobStore(_dir.File("blobs2")));

        IReadOnlyList<EvaluatedRow> evaluated = await evaluator.EvaluateAsync(
            HeldOut(),
            "topic",
            Models,
            "runs/r2/evaluation/rows/",
            concurrency: 8
        );
        EvaluationSummary summary = EvaluationStatistics.Compute(evaluated, new PromotionPolicy());

        Assert.Equal(EvaluationOutcome.ImprovedSignificantly, summary.Outcome);
        Assert.True(summary.AllTopicsImproved);
        Assert.True(summary.WinRate.Rate > 0.8);
        Assert.True(new PromotionPolicy().Decide(summary).Passed);
        Assert.All(evaluated, r => Assert.False(string.IsNullOrEmpty(r.Reference)));
    }
}

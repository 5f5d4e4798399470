using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Evaluation;

/// <summary>
/// What an evaluation will cost, known before anything is launched: the rows it will evaluate (the held-out share of the
/// examples, at most the cap) times the tokens of one row's six calls, from the dataset's mean example: each model reads
/// the prompt and writes an answer as long as the reference; the judge reads its rubric, the prompt, the reference and
/// one answer (a score) or two (a comparison), four times, and writes a few tokens.
/// </summary>
public static class EvaluationEstimator
{
    /// <summary>The tokens of a rubric and its framing, rounded up.</summary>
    public const int RubricTokens = 200;

    /// <summary>What a judgement writes: a score or a letter, and a little slack.</summary>
    public const int JudgementTokens = 5;

    /// <summary>
    /// The rows a run will evaluate: the held-out share of <paramref name="examples"/>, at most <paramref name="maxRows"/>.
    /// </summary>
    public static int Rows(long examples, double testRatio, int maxRows) =>
        testRatio <= 0 ? 0 : (int)Math.Min(maxRows, Math.Ceiling(examples * testRatio));

    public static EvaluationEstimate Estimate(
        TokenStatistics tokens,
        int rows,
        string baseModel,
        string judgeModel,
        ModelCatalog catalog,
        bool judged = true,
        bool providerGraded = false
    )
    {
        int judgeCalls = judged ? 4 : 0;
        double example = tokens.TokensPerExample?.Mean ?? 0;
        double answer = tokens.AssistantTokensPerExample?.Mean ?? 0;
        double prompt = Math.Max(0, example - answer);
        var usage = new EvaluationUsage(
            Round(rows * prompt),
            Round(rows * answer),
            Round(rows * prompt),
            Round(rows * answer),
            Round(rows * judgeCalls * (RubricTokens + prompt + (2 * answer))),
            (long)rows * judgeCalls * JudgementTokens
        );
        (decimal? cost, List<string> notes) = EvaluationCost.Of(
            usage,
            new EvaluationModels(baseModel, "ft:" + baseModel, judgeModel),
            catalog
        );
        string note =
            (
                judged
                    ? $"{rows:N0} held-out rows × 6 calls (both models answer, the judge ({judgeModel}) scores each answer and compares "
                        + "them in both orders)"
                : providerGraded
                    ? $"{rows:N0} held-out rows × 2 calls (both models answer; the provider runs the grader on each answer, "
                        + "and bills its model graders' tokens, which are not in this figure)"
                : $"{rows:N0} held-out rows × 2 calls (both models answer; a grader scores the answers here, no judge is called)"
            )
            + "; answers assumed as long as the references"
            + (notes.Count > 0 ? "; " + string.Join(" ", notes) : ".");
        return new EvaluationEstimate(rows, usage.Total, cost, note);
    }

    private static long Round(double tokens) => (long)Math.Ceiling(tokens);
}

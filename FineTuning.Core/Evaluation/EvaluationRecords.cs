namespace FineTuning.Core.Evaluation;

/// <summary>
/// What the evaluation stage is asked to do: the run's held-out file, the models, how many rows at most, the seed of
/// the sample and the policy the result is held against.
/// </summary>
public sealed record EvaluationInput(
    string RunId,
    string TestBlob,
    string TopicField,
    string BaseModel,
    string FineTunedModel,
    string? JudgeModel,
    int MaxRows,
    ulong Seed,
    PromotionPolicy Policy,
    System.Text.Json.JsonElement? Grader = null,
    bool GraderOnReference = false
);

/// <summary>
/// The rows to evaluate, written to <see cref="RowsBlob"/> (one <c>{"line":N,"row":{...}}</c> per line, in the order of
/// the held-out file), and the batches an activity each evaluates, in order.
/// </summary>
public sealed record EvaluationPlan(
    string RowsBlob,
    int Rows,
    int HeldOutRows,
    IReadOnlyList<EvaluationBatch> Batches,
    EvaluationModels Models,
    int Concurrency
);

/// <summary>Rows <see cref="First"/> to <see cref="First"/> + <see cref="Count"/> of the plan's rows.</summary>
public sealed record EvaluationBatch(int Index, int First, int Count);

/// <summary>One batch of the plan, as its activity gets it.</summary>
public sealed record EvaluateBatchInput(
    string RunId,
    string RowsBlob,
    EvaluationBatch Batch,
    string TopicField,
    EvaluationModels Models,
    int Concurrency,
    System.Text.Json.JsonElement? Grader = null,
    bool GraderOnReference = false
);

/// <summary>What a batch left in the run's answers (rows without an assistant turn to compare with are skipped).</summary>
public sealed record BatchEvaluated(int Evaluated, int Skipped);

/// <summary>What the report is made from: the plan's rows, whose answers the batches kept, and the policy.</summary>
public sealed record ReportEvaluationInput(
    string RunId,
    string RowsBlob,
    int HeldOutRows,
    EvaluationModels Models,
    PromotionPolicy Policy,
    bool ScoredByGrader = false,
    bool GraderOnReference = false
);

/// <summary>Tokens spent on one row: each model's answer and the judge's four calls.</summary>
public sealed record EvaluationUsage(
    long BaseInput,
    long BaseOutput,
    long FineTunedInput,
    long FineTunedOutput,
    long JudgeInput,
    long JudgeOutput
)
{
    public static EvaluationUsage Zero { get; } = new(0, 0, 0, 0, 0, 0);

    public long Total => BaseInput + BaseOutput + FineTunedInput + FineTunedOutput + JudgeInput + JudgeOutput;

    public EvaluationUsage Add(EvaluationUsage other) =>
        new(
            BaseInput + other.BaseInput,
            BaseOutput + other.BaseOutput,
            FineTunedInput + other.FineTunedInput,
            FineTunedOutput + other.FineTunedOutput,
            JudgeInput + other.JudgeInput,
            JudgeOutput + other.JudgeOutput
        );
}

/// <summary>
/// <c>runs/{runId}/reports/evaluation.json</c>: what was evaluated, with what, the statistics and the promotion
/// decision, and what it cost.
/// </summary>
public sealed record EvaluationReport(
    string RunId,
    EvaluationModels Models,
    int RowsEvaluated,
    int HeldOutRows,
    EvaluationSummary Summary,
    PromotionPolicy Policy,
    PromotionDecision Decision,
    EvaluationUsage Tokens,
    decimal? CostUsd,
    IReadOnlyList<string> Notes
)
{
    /// <summary>How answers were scored: by the run's grader (reinforcement), or by the judge model against the reference.</summary>
    public string ScoredBy { get; init; } = "";
}

/// <summary>
/// The evaluation in a few numbers, for the run's row, the registry and the orchestration (the full report is in
/// <see cref="ReportBlob"/>).
/// </summary>
public sealed record EvaluationDigest(
    int Rows,
    double BaseScore,
    double FineTunedScore,
    double? ImprovementPercent,
    Interval? ImprovementPercentInterval,
    double? WinRate,
    EvaluationOutcome Outcome,
    string Advice,
    bool AllTopicsImproved,
    IReadOnlyList<string> RegressedTopics,
    bool Passed,
    IReadOnlyList<string> Reasons,
    decimal? CostUsd,
    string ReportBlob
);

/// <summary>An evaluation that cannot be made (no held-out row has anything to compare answers with): not retried.</summary>
public sealed class EvaluationImpossibleException(string message) : Exception(message);

/// <summary>The evaluation's estimated tokens and cost, shown with the training estimate before anything is launched.</summary>
public sealed record EvaluationEstimate(int Rows, long Tokens, decimal? CostUsd, string Note);

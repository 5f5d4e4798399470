namespace FineTuning.Core.Evaluation;

/// <summary>
/// Section <c>FineTuning:Evaluation</c> of a host's settings: how the evaluation stage calls the models. On Azure OpenAI
/// the names are deployment names (the base model's and the judge's deployments are the account's; the fine-tuned
/// model's is the short-lived one the workflow makes).
/// </summary>
public sealed class EvaluationOptions
{
    public const string Section = "FineTuning:Evaluation";

    /// <summary>Rows evaluated at once (each row is six calls: two answers, then four judgements). Default 8.</summary>
    public int Concurrency { get; set; } = 8;

    /// <summary>The judge that scores answers against the reference and compares them, when a request names none.</summary>
    public string JudgeModel { get; set; } = "gpt-4.1-2025-04-14";

    /// <summary>
    /// The deployment that answers for the base model (Azure OpenAI); null: the base model's name, as OpenAI and the
    /// emulator take it.
    /// </summary>
    public string? BaseDeployment { get; set; }

    /// <summary>Rows per activity: the run's history holds one activity per batch, never one per row. Default 250.</summary>
    public int BatchRows { get; set; } = 250;

    /// <summary>Describes what is wrong with these settings, or null.</summary>
    public string? Problem() =>
        Concurrency is < 1 or > 256 ? "FineTuning__Evaluation__Concurrency must be between 1 and 256 (default 8)."
        : BatchRows is < 1 or > 10_000 ? "FineTuning__Evaluation__BatchRows must be between 1 and 10,000 (default 250)."
        : string.IsNullOrWhiteSpace(JudgeModel) ? "FineTuning__Evaluation__JudgeModel must name a model (default gpt-4.1)."
        : null;
}

using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Graders;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Splitting;

namespace FineTuning.Core.Workflow;

/// <summary>
/// What a run is asked to do: the dataset blob (and an optional separate validation blob, then no split), the method
/// and base model, the split, hyperparameters, the grader for reinforcement, validation rules, polling and deadline.
/// Small and JSON-serialisable: it is the orchestration's input. Members with a default are settable: the build-time
/// JSON contract can leave a settable member alone when the JSON omits it, but gives an init-only one its type's default
/// (a request of just a dataset would ask for a train ratio of 0).
/// </summary>
public sealed record RunRequest
{
    public string DatasetBlob { get; set; } = "";

    public string? ValidationBlob { get; init; }

    /// <summary>
    /// A test file of the user's for the evaluation (then the dataset holds none out): validated on its own; a row that
    /// is also an example of the dataset fails the run before anything is uploaded, both lines named.
    /// </summary>
    public string? TestBlob { get; init; }

    public string Method { get; set; } = "auto";

    public string? BaseModel { get; init; }

    public string? Suffix { get; init; }

    public long? Seed { get; init; }

    /// <summary>Train a base model the catalogue does not know (its limits and price are then unknown); refused otherwise.</summary>
    public bool AllowUnknownModel { get; init; }

    public double TrainRatio { get; set; } = ValidationOptions.DefaultTrainRatio;

    /// <summary>
    /// Share of each topic held out as a test set (<c>runs/{id}/split/test.jsonl</c>, never uploaded) before the train ratio
    /// splits the rest; 0, the default, holds none, or <see cref="DefaultEvaluationTestRatio"/> when the run evaluates.
    /// </summary>
    public double TestRatio { get; set; }

    /// <summary>The test share of a run that evaluates and names none.</summary>
    public const double DefaultEvaluationTestRatio = 0.1;

    /// <summary>
    /// Whether the run evaluates its fine-tuned model against its base on the held-out rows after training, and holds the
    /// result against <see cref="Promotion"/> before the model can be promoted (off by default over the API, so a client
    /// that does not ask keeps its split; on by default in <c>finetune run</c>).
    /// </summary>
    public bool Evaluate { get; set; }

    /// <summary>The most held-out rows evaluated (a stratified, seeded sample of them when there are more).</summary>
    public int MaxEvalRows { get; set; } = 200;

    /// <summary>The judge model (a deployment on Azure OpenAI); null: the host's <c>FineTuning__Evaluation__JudgeModel</c>.</summary>
    public string? JudgeModel { get; init; }

    /// <summary>
    /// The promotion policy the evaluation is held against; null: the defaults (see <see cref="Evaluation.PromotionPolicy"/>).
    /// </summary>
    public Evaluation.PromotionPolicy? Promotion { get; init; }

    /// <summary>
    /// <c>manual</c> (the default): a model that passes waits for <c>approve</c> or <c>reject</c> (at most
    /// <see cref="ApprovalTimeout"/>); <c>auto</c>: it is promoted at once.
    /// </summary>
    public string Approval { get; set; } = "manual";

    /// <summary>How long a model that passed waits for approval before the run ends NotApproved (the model stays a candidate).</summary>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The registry name the model is versioned under; null: the suffix, or else the base model.</summary>
    public string? Name { get; init; }

    /// <summary>The share held out: <see cref="TestRatio"/>, or the default when the run evaluates and names none.</summary>
    public double HeldOutRatio => TestRatio > 0 || !Evaluate || TestBlob is not null ? TestRatio : DefaultEvaluationTestRatio;

    /// <summary>
    /// The most the job may cost, in USD: a run whose estimate is higher (or cannot be estimated: a model without a price,
    /// reinforcement's hourly billing) stops after validation, before anything is uploaded. Null: no limit.
    /// </summary>
    public decimal? BudgetUsd { get; init; }

    public string StratifyBy { get; set; } = "topic";

    public ulong SplitSeed { get; set; } = 42;

    public bool IncludeGeneratedInValidation { get; init; }

    public Hyperparameters? Hyperparameters { get; init; }

    /// <summary>The grader, required for reinforcement.</summary>
    public JsonElement? Grader { get; init; }

    /// <summary>
    /// For supervised and DPO runs, what scores each held-out answer instead of the judge: a <c>string_check</c> or a
    /// <c>text_similarity</c> grader (or a <c>multi</c> of them) whose templates see the row as <c>item</c>, with
    /// <c>item.reference</c> set to the row's reference answer, and the answer as <c>sample.output_text</c>.
    /// </summary>
    public JsonElement? EvalGrader { get; init; }

    public int MinExamples { get; set; } = 10;

    public double MaxErrorRate { get; init; }

    public bool Dedupe { get; set; } = true;

    /// <summary>Whether validation looks for personal or secret data (<c>possible_pii</c> warnings); on by default.</summary>
    public bool PiiCheck { get; set; } = true;

    /// <summary>
    /// Whether validation also reports rows whose words are mostly an earlier row's (<c>near_duplicate</c> pairs by
    /// MinHash, <c>--near-duplicates</c>); off by default: it is slower and takes about 264 bytes a row in the run's blobs.
    /// </summary>
    public bool NearDuplicates { get; set; }

    /// <summary>The first interval between job status checks when the request names none.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(30);

    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    public TimeSpan Deadline { get; set; } = TimeSpan.FromHours(48);

    public IReadOnlyDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>();

    /// <summary>
    /// Which attempt at this input the run is (part of its identity, so of its run id and its job's <c>metadata.run_id</c>):
    /// a host starts attempt 2 when attempt 1 failed or was cancelled, so that trying again creates a new job.
    /// </summary>
    public int Attempt { get; set; } = 1;

    /// <summary>The highest attempt a request may name (hosts never go past it when they start the next attempt).</summary>
    public const int MaxAttempt = 1000;

    /// <summary>Every problem with the request, by field (empty when it can start); a host answers 400 with all of them.</summary>
    public IReadOnlyDictionary<string, string[]> Problems()
    {
        var problems = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string field, string problem)
        {
            if (!problems.TryGetValue(field, out List<string>? list))
                problems[field] = list = [];
            list.Add(problem);
        }

        if (string.IsNullOrWhiteSpace(DatasetBlob))
            Add("datasetBlob", "is required: the blob name of the JSONL dataset, e.g. datasets/support.jsonl");
        else if (Storage.BlobNames.Problem(DatasetBlob) is { } blobProblem)
            Add("datasetBlob", blobProblem);
        // A validation file of the user's replaces the validation share of the split (checked for overlap at the split).
        if (ValidationBlob is not null && Storage.BlobNames.Problem(ValidationBlob) is { } validationProblem)
            Add("validationBlob", validationProblem);
        else if (ValidationBlob is not null && ValidationBlob == DatasetBlob)
            Add(
                "validationBlob",
                "names the dataset itself; give a separate file of validation rows, or leave it out to split the dataset"
            );
        if (TestBlob is not null && Storage.BlobNames.Problem(TestBlob) is { } testProblem)
            Add("testBlob", testProblem);
        else if (TestBlob is not null && (TestBlob == DatasetBlob || TestBlob == ValidationBlob))
            Add("testBlob", "names the dataset or the validation file; give a separate file of test rows");
        else if (TestBlob is not null && TestRatio > 0)
            Add("testBlob", "comes with a testRatio too: give a test file or a test share of the dataset, not both");
        if (!string.IsNullOrWhiteSpace(BaseModel) && !AllowUnknownModel && Catalog.ModelCatalog.Default.Find(BaseModel) is null)
            Add(
                "baseModel",
                $"{Catalog.ModelCatalog.Default.NotCatalogued(BaseModel)}; check the name, or allow it "
                    + "(allowUnknownModel, --allow-unknown-model) "
                    + "to train it without known limits and prices"
            );
        if (!FineTuningMethods.TryParse(Method, out FineTuningMethod method))
            Add("method", $"\"{Method}\" is not a method (auto, supervised, dpo, reinforcement)");
        if (method == FineTuningMethod.Reinforcement && Grader is null)
            Add("grader", "is required for reinforcement");
        if (
            Grader is { } grader
            && GraderSpec.Parse("grader", JsonSerializer.SerializeToUtf8Bytes(grader, CoreJsonContext.Default.JsonElement))
                is { IsValid: false } spec
        )
        {
            foreach (Finding f in spec.Findings)
                Add(f.Path, f.Message);
        }

        if (EvalGrader is { } evalGrader && EvalGraderProblem(evalGrader, method) is { } evalProblem)
            Add("evalGrader", evalProblem);
        if (new SplitOptions { TrainRatio = TrainRatio }.Problem() is { } ratio)
            Add("trainRatio", ratio);
        if (new SplitOptions { TestRatio = TestRatio }.Problem() is { } testRatio)
            Add("testRatio", testRatio);
        if (MaxEvalRows is < 1 or > 10_000)
            Add("maxEvalRows", "must be between 1 and 10,000 (default 200)");
        if (Promotion?.Problem() is { } promotion)
            Add("promotion", promotion);
        if (Approval is not ("manual" or "auto"))
            Add("approval", $"\"{Approval}\" is not manual or auto");
        if (ApprovalTimeout < TimeSpan.FromMinutes(1) || ApprovalTimeout > TimeSpan.FromDays(30))
            Add("approvalTimeout", "must be between 1 minute and 30 days (default 7 days)");
        if (Name is { } name && (name.Length is 0 or > 64 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
            Add("name", "must be 1 to 64 letters, digits, '-', '_' or '.'");
        if (BudgetUsd is { } budget && budget <= 0)
            Add("budgetUsd", $"{budget} is not a budget; give an amount in USD above 0, or none");
        if (MinExamples < 1)
            Add("minExamples", "must be at least 1");
        if (Attempt is < 1 or > MaxAttempt)
            Add("attempt", $"must be between 1 and {MaxAttempt:N0}");
        if (double.IsNaN(MaxErrorRate) || MaxErrorRate is < 0 or > 1)
            Add("maxErrorRate", "must be between 0 and 1");
        if (PollInterval < TimeSpan.FromSeconds(1) || PollInterval > TimeSpan.FromHours(1))
            Add("pollInterval", "must be between 1 second and 1 hour");
        if (Deadline <= TimeSpan.Zero || Deadline > TimeSpan.FromDays(30))
            Add("deadline", "must be above 0 and at most 30 days");
        if (Suffix is { Length: > 64 })
            Add("suffix", "must be at most 64 characters");
        if (Hyperparameters is { } h)
        {
            if (h.Epochs is < 1 or > 50)
                Add("hyperparameters.epochs", "must be between 1 and 50");
            if (h.BatchSize is < 1)
                Add("hyperparameters.batchSize", "must be at least 1");
            if (h.LearningRateMultiplier is <= 0)
                Add("hyperparameters.learningRateMultiplier", "must be above 0");
            if (h.ReasoningEffort is not (null or "low" or "medium" or "high"))
                Add("hyperparameters.reasoningEffort", "must be low, medium or high");
        }

        return problems.ToDictionary(p => p.Key, p => p.Value.ToArray());
    }

    /// <summary>
    /// Why an evaluation grader cannot be used, or null: reinforcement runs are scored by their own grader, and only the
    /// graders that compare with the reference exactly and at no cost (string checks and text similarity) are taken.
    /// </summary>
    private static string? EvalGraderProblem(JsonElement grader, FineTuningMethod method)
    {
        if (method == FineTuningMethod.Reinforcement)
            return "is for supervised and DPO runs: a reinforcement run's answers are scored by its own grader";
        GraderSpec spec = GraderSpec.Parse("evalGrader", JsonSerializer.SerializeToUtf8Bytes(grader, CoreJsonContext.Default.JsonElement));
        if (!spec.IsValid)
            return string.Join("; ", spec.Findings.Select(f => $"{f.Path}: {f.Message}"));
        return GraderRunner.IsExact(grader)
            ? null
            : $"a {GraderRunner.Types(grader).First(t => t is not ("string_check" or "text_similarity" or "multi"))} grader cannot score "
                + "the evaluation here; use string_check or text_similarity against {{ item.reference }}, or leave evalGrader out to "
                + "have the judge model score the answers";
    }
}

using System.Text;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Catalog;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;
using FineTuning.OpenAI;

namespace FineTuning.Tests.Evaluation;

/// <summary>
/// The second half of a run on the embedded runtime, over file-system blobs, SQLite and the emulator through the real
/// provider: the held-out evaluation, the promotion policy, the approval gate (approve, reject, timeout, auto) and the
/// registry's versions and stages.
/// </summary>
public sealed class EvaluationWorkflowTests : IAsyncLifetime, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
    private EmulatorServer _emulator = null!;
    private FileSystemBlobStore _blobs = null!;
    private SqliteTables _tables = null!;
    private DurableRuntime _runtime = null!;
    private HistoryStore _history = null!;
    private Action<string, HistoryEvent>? _onRecorded;

    /// <summary>The emulated models' skill: better fine-tuned everywhere unless a test says otherwise.</summary>
    private EmulatorSkill _skill = new() { Base = 0.3, FineTuned = 0.9 };

    private readonly FaultPlan _faults = new();

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>A reinforcement grader: the answer must be the row's reference answer, exactly.</summary>
    private const string ExactAnswerGrader = """
        {
          "type": "string_check",
          "name": "exact",
          "input": "{{ sample.output_text }}",
          "reference": "{{ item.reference_answer }}",
          "operation": "eq"
        }
        """;

    /// <summary>The emulated Azure OpenAI account the deployment tests deploy to.</summary>
    private const string Account = "/subscriptions/s1/resourceGroups/g1/providers/Microsoft.CognitiveServices/accounts/aoai";

    private ArmModelDeployments? _deployments;

    private ArmModelDeployments Deployments() =>
        new(
            new DeploymentOptions
            {
                AccountResourceId = Account,
                ManagementEndpoint = _emulator.ArmEndpoint,
                EmulatorKey = "k",
            },
            null
        );

    private async Task StartAsync(EvaluationOptions? evaluation = null, bool azure = false)
    {
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Time = _clock,
                Speed = 1,
                Skill = _skill,
                Faults = _faults,
            }
        );
        _deployments = azure ? Deployments() : null;
        _blobs = new FileSystemBlobStore(_dir.File("blobs"));
        _tables = new SqliteTables(_dir.File("finetuning.db"));
        _history = new HistoryStore(_dir.File("durable.db"));
        _runtime = new DurableRuntime(
            _history,
            LocalWorkflow.Orchestrators,
            LocalWorkflow.Activities(
                _blobs,
                Emulated.Provider(_emulator, "k"),
                _tables,
                _tables,
                ModelCatalog.Default,
                evaluation,
                _deployments
            ),
            new DurableRuntimeOptions { Time = _clock, Recorded = (id, e) => _onRecorded?.Invoke(id, e) }
        );
        _runtime.Start();
    }

    public async Task DisposeAsync()
    {
        if (_runtime is not null)
            await _runtime.DisposeAsync();
        if (_emulator is not null)
            await _emulator.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private async Task<RunOutcome> Run(string runId, RunRequest request)
    {
        Assert.True(_runtime.ScheduleNew(LocalRunHost.Orchestrator, runId, request));
        InstanceState state = await Runtime.DurableRuntimeTests.RunToEnd(_runtime, _clock, runId);
        Assert.True(state.Status == InstanceStatus.Completed, state.Failure);
        return JsonSerializer.Deserialize<RunOutcome>(state.Output!, ReportSerializer.Options)!;
    }

    private List<string> Calls(string runId) =>
        [.. _history.LoadHistory(runId).Where(e => e.Kind == HistoryKind.TaskScheduled).Select(e => e.Name!)];

    /// <summary>300 support conversations over three topics, dropped as <c>datasets/support.jsonl</c>.</summary>
    private async Task<RunRequest> Dataset(Func<RunRequest, RunRequest>? change = null)
    {
        string rows = Rows.Jsonl(Rows.ManyChats(300, i => i % 3 == 0 ? "billing"
                : i % 3 == 1 ? "shipping"
                : "returns"));
        await _blobs.WriteAsync("datasets/support.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(rows), ct).AsTask());
        var request = new RunRequest
        {
            DatasetBlob = "datasets/support.jsonl",
            Suffix = "support",
            Evaluate = true,
        };
        return change?.Invoke(request) ?? request;
    }

    /// <summary>Raises <paramref name="name"/> with a decision once the run has registered its model (it then waits for one).</summary>
    private void DecideAfterRegistration(string name, Decision decision) =>
        _onRecorded = (runId, e) =>
        {
            if (e is { Kind: HistoryKind.TaskCompleted, Name: "RegisterModel" })
                _runtime.RaiseEvent(runId, name, decision);
        };

    private async Task<EvaluationReport> Report(string runId)
    {
        await using Stream stream = await _blobs.OpenReadAsync($"runs/{runId}/reports/evaluation.json");
        return (await JsonSerializer.DeserializeAsync(stream, ReportSerializer.TypeInfo<EvaluationReport>()))!;
    }

    [Fact]
    public async Task AnImprovedModel_IsApproved_Deployed_AndInProduction_WithItsEvaluationAndHistory()
    {
        await StartAsync(new EvaluationOptions { BatchRows = 12, Concurrency = 4 });
        DecideAfterRegistration(FineTuningOrchestrator.ApproveEvent, new Decision("ana", "beats the base on every topic"));

        RunOutcome outcome = await Run("run-good", await Dataset());

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        EvaluationReport report = await Report("run-good");
        Assert.Equal(30, report.HeldOutRows);
        Assert.Equal(30, report.RowsEvaluated);
        Assert.Equal(["billing", "returns", "shipping"], report.Summary.Topics.Select(t => t.Name));
        Assert.All(report.Summary.Topics, t => Assert.Equal(10, t.Rows));
        Assert.True(report.Summary.Overall.FineTunedScore > report.Summary.Overall.BaseScore);
        Assert.True(report.Summary.DifferenceInterval.Low > 0);
        Assert.True(report.Decision.Passed, string.Join("; ", report.Decision.Reasons));
        Assert.True(report.Tokens.Total > 0);
        Assert.NotNull(report.CostUsd);
        // One activity per batch of 12 rows, never one per row.
        Assert.Equal(3, Calls("run-good").Count(c => c == nameof(Core.Workflow.Activities.EvaluateBatch)));

        ModelRow model = (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!;
        Assert.Equal(ModelStages.Production, model.Stage);
        Assert.Equal(("support", 1), (model.Name, model.Version));
        Assert.Equal([ModelStages.Candidate, ModelStages.Production], model.StageHistory.Select(h => h.Stage));
        Assert.Equal(("ana", "beats the base on every topic"), (model.StageHistory[1].By, model.StageHistory[1].Why));
        Assert.Equal(report.Summary.Overall.FineTunedScore, model.Evaluation!.FineTunedScore);
        Assert.Equal(0.1, model.TestRatio);
        RunRow run = (await ((IRunStore)_tables).GetAsync("run-good"))!;
        Assert.Equal(RunStages.Deploy, run.Stage);
        Assert.Equal(30, run.Evaluation!.Rows);
    }

    /// <summary>A reinforcement run over 300 sums, graded by <paramref name="grader"/>, evaluated and approved on its own.</summary>
    private async Task<EvaluationReport> ReinforcementRun(string runId, string grader)
    {
        await StartAsync();
        string rows = Rows.Jsonl(Enumerable.Range(0, 300).Select(i => Rows.Rft($"What is {i} + {i}?", $"{2 * i}")));
        await _blobs.WriteAsync("datasets/sums.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(rows), ct).AsTask());
        using JsonDocument parsed = JsonDocument.Parse(grader);
        RunOutcome outcome = await Run(
            runId,
            new RunRequest
            {
                DatasetBlob = "datasets/sums.jsonl",
                Method = "reinforcement",
                Grader = parsed.RootElement.Clone(),
                Evaluate = true,
                Approval = "auto",
            }
        );
        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        return await Report(runId);
    }

    [Fact]
    public async Task AReinforcementRun_IsScoredByItsOwnGrader_WithoutTheJudge()
    {
        EvaluationReport report = await ReinforcementRun("run-rft", ExactAnswerGrader);

        Assert.Contains("the run's grader", report.ScoredBy, StringComparison.Ordinal);
        Assert.Equal(0, report.Tokens.JudgeInput);
        // The grader's reference is what the row compares with; a right answer is exactly it, and scores 1.
        EvaluatedRow gain = report.Summary.LargestGains[0];
        Assert.Equal((1.0, 0.0), (gain.FineTunedScore, gain.BaseScore));
        Assert.Equal(gain.Reference, gain.FineTunedAnswer);
    }

    [Fact]
    public async Task AReinforcementRunWithAModelGrader_IsScoredByTheProvidersGrader_AndItsTokensAreCounted()
    {
        EvaluationReport report = await ReinforcementRun(
            "run-rft-model",
            """
            {"type": "score_model", "name": "judge", "model": "o3-mini-2025-01-31", "range": [0, 1],
             "input": [{"role": "user", "content": "Score {{ sample.output_text }} against {{ item.reference_answer }}."}]}
            """
        );

        Assert.Contains("the run's grader", report.ScoredBy, StringComparison.Ordinal);
        // Run by the provider (/fine_tuning/alpha/graders/run), which reports its model's tokens: none are counted when the
        // grader is run here, and no judge is called.
        Assert.True(report.Tokens.JudgeInput > 0 && report.Tokens.JudgeOutput > 0, $"{report.Tokens}");
        Assert.DoesNotContain(Calls("run-rft-model"), c => c.Contains("Judge", StringComparison.Ordinal));
        Assert.True(report.Summary.Overall.FineTunedScore > report.Summary.Overall.BaseScore);
        // The estimate made before anything was uploaded said who grades, and that those tokens are the provider's to bill.
        HistoryEvent merged = _history
            .LoadHistory("run-rft-model")
            .Single(e => e is { Kind: HistoryKind.TaskCompleted, Name: "MergeValidation" });
        Assert.Contains("the provider runs the grader on each answer", merged.Payload, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("supervised")]
    [InlineData("dpo")]
    public async Task AnEvaluationGrader_ScoresSupervisedAndDpoAnswersAgainstTheirReference_WithoutTheJudge(string method)
    {
        await StartAsync();
        string rows = Rows.Jsonl(
            Enumerable
                .Range(0, 300)
                .Select(i =>
                    method == "dpo"
                        ? Rows.Dpo($"Say {i} politely.", $"Certainly: {i}.", $"{i}, fine.")
                        : Rows.Chat($"What is {i} + {i}?", $"{2 * i}")
                )
        );
        await _blobs.WriteAsync("datasets/exact.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(rows), ct).AsTask());
        using JsonDocument grader = JsonDocument.Parse(
            ExactAnswerGrader.Replace("item.reference_answer", "item.reference", StringComparison.Ordinal)
        );

        RunOutcome outcome = await Run(
            $"run-eval-grader-{method}",
            new RunRequest
            {
                DatasetBlob = "datasets/exact.jsonl",
                Evaluate = true,
                Approval = "auto",
                EvalGrader = grader.RootElement.Clone(),
            }
        );

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        EvaluationReport report = await Report($"run-eval-grader-{method}");
        Assert.Equal(30, report.RowsEvaluated);
        Assert.Contains("the evaluation grader against each row's reference", report.ScoredBy, StringComparison.Ordinal);
        Assert.Equal((0, 0), (report.Tokens.JudgeInput, report.Tokens.JudgeOutput));
        // A string check scores 1 for the reference itself and 0 for anything else: every row's score is one or the other.
        Assert.All(report.Summary.LargestGains.Concat(report.Summary.LargestLosses), r =>
        {
            Assert.Equal(r.FineTunedAnswer == r.Reference ? 1.0 : 0.0, r.FineTunedScore);
            Assert.Equal(r.BaseAnswer == r.Reference ? 1.0 : 0.0, r.BaseScore);
        });
        Assert.True(report.Summary.Overall.FineTunedScore > report.Summary.Overall.BaseScore);
    }

    [Fact]
    public async Task AGraderTheProviderRefuses_StopsAReinforcementRunBeforeAnythingIsUploaded()
    {
        await StartAsync();
        string rows = Rows.Jsonl(Enumerable.Range(0, 40).Select(i => Rows.Rft($"What is {i} + 1?", $"{i + 1}")));
        await _blobs.WriteAsync("datasets/plus.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(rows), ct).AsTask());
        using JsonDocument grader = JsonDocument.Parse(ExactAnswerGrader);
        var request = new RunRequest
        {
            DatasetBlob = "datasets/plus.jsonl",
            Method = "reinforcement",
            Grader = grader.RootElement.Clone(),
        };
        // The provider refuses the grader once (as it would one it does not support).
        _faults.Add(new Fault("POST", "/graders/validate", Status: 400));

        RunOutcome refused = await Run("run-grader-no", request);
        RunOutcome accepted = await Run("run-grader-ok", request with { Attempt = 2 });

        Assert.Equal(RunStatus.Failed, refused.Status);
        Assert.StartsWith("The provider refused the grader: ", refused.Error, StringComparison.Ordinal);
        Assert.EndsWith("Nothing was uploaded.", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("UploadFile", Calls("run-grader-no"));
        Assert.True(accepted.Status == RunStatus.Succeeded, accepted.Error);
        Assert.Contains(nameof(Core.Workflow.Activities.CheckGrader), Calls("run-grader-ok"));
    }

    [Fact]
    public async Task ADpoRun_IsJudgedAgainstItsPreferredOutput()
    {
        await StartAsync();
        string rows = Rows.Jsonl(Enumerable.Range(0, 300).Select(i => Rows.Dpo($"Say {i} politely.", $"Certainly: {i}.", $"{i}, fine.")));
        await _blobs.WriteAsync("datasets/tone.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(rows), ct).AsTask());

        RunOutcome outcome = await Run(
            "run-dpo",
            new RunRequest
            {
                DatasetBlob = "datasets/tone.jsonl",
                Evaluate = true,
                Approval = "auto",
            }
        );

        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        EvaluationReport report = await Report("run-dpo");
        Assert.Equal(30, report.RowsEvaluated);
        Assert.StartsWith("Certainly: ", report.Summary.LargestGains[0].Reference, StringComparison.Ordinal);
        Assert.True(report.Tokens.JudgeInput > 0);
    }

    [Fact]
    public async Task ATestFileOfTheUsers_IsWhatIsEvaluated_AndOneThatOverlapsTheDataset_StopsTheRunBeforeAnyUpload()
    {
        await StartAsync();
        RunRequest request = await Dataset(r => r with { Approval = "auto" });
        string exam = Rows.Jsonl(Enumerable.Range(0, 24).Select(i => Rows.Chat($"Exam {i}?", $"Mark {i}.", topic: "exam")));
        string leaky = Rows.Jsonl([Rows.Chat("Exam new?", "Mark."), Rows.ManyChats(300).ElementAt(7)]);
        await _blobs.WriteAsync("datasets/exam.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(exam), ct).AsTask());
        await _blobs.WriteAsync("datasets/leaky.jsonl", (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(leaky), ct).AsTask());

        RunOutcome given = await Run("run-exam", request with { TestBlob = "datasets/exam.jsonl" });
        RunOutcome leaked = await Run("run-leaky", request with { TestBlob = "datasets/leaky.jsonl", Attempt = 2 });

        Assert.True(given.Status == RunStatus.Succeeded, given.Error);
        EvaluationReport report = await Report("run-exam");
        Assert.Equal(24, report.RowsEvaluated);
        Assert.Equal(["exam"], report.Summary.Topics.Select(t => t.Name));
        Assert.Equal(
            300,
            (await ((IRunStore)_tables).GetAsync("run-exam"))!.TrainRows + (await ((IRunStore)_tables).GetAsync("run-exam"))!.ValidationRows
        );
        Assert.Equal(RunStatus.Failed, leaked.Status);
        Assert.Contains("datasets/leaky.jsonl (the test file) shares an example with the dataset", leaked.Error, StringComparison.Ordinal);
        Assert.Contains(
            "datasets/leaky.jsonl line 2 is the same example as datasets/support.jsonl line 8",
            leaked.Error,
            StringComparison.Ordinal
        );
        Assert.DoesNotContain("UploadFile", Calls("run-leaky"));
    }

    [Fact]
    public async Task OnAzureOpenAI_TheEvaluationAnswersThroughADeveloperDeployment_AndProductionGetsItsOwn_ReplacingTheOldOne()
    {
        await StartAsync(azure: true);
        // Resource Manager fails once on the first deployment and throttles its first look at it (429, Retry-After):
        // retried after the time it asks for, not failed.
        _faults.Add(new Fault("PUT", "/arm/subscriptions/", Status: 500));
        _faults.Add(new Fault("GET", "/arm/subscriptions/", Status: 429, RetryAfterSeconds: 1));
        RunRequest request = await Dataset(r => r with { Approval = "auto" });

        RunOutcome one = await Run("run-az1", request);
        ModelRow first = (await ((IModelRegistry)_tables).GetAsync(one.ModelId!))!;
        Assert.Equal(("support-az1", ModelStages.Production), (first.Deployment, first.Stage));
        RunOutcome two = await Run("run-az2", request with { Attempt = 2 });

        Assert.True(one.Status == RunStatus.Succeeded, one.Error);
        Assert.True(two.Status == RunStatus.Succeeded, two.Error);
        ModelRow v1 = (await ((IModelRegistry)_tables).GetAsync(one.ModelId!))!;
        ModelRow v2 = (await ((IModelRegistry)_tables).GetAsync(two.ModelId!))!;
        Assert.Equal("support-az2", v2.Deployment);
        Assert.Equal(2, Calls("run-az2").Count(c => c == nameof(Core.Workflow.Activities.RemoveDeployment)));
        DeploymentState live = (await Deployments().GetAsync(v2.Deployment!))!;
        Assert.Equal((two.ModelId, "GlobalStandard", DeploymentStates.Succeeded), (live.Model, live.Sku, live.ProvisioningState));
        // The evaluation's deployments are gone, and so is the production deployment of the model v2 replaced.
        Assert.Null(await Deployments().GetAsync(FineTuningOrchestrator.DeploymentName(request, "run-az2", two.ModelId!, "eval")));
        Assert.Null(await Deployments().GetAsync(FineTuningOrchestrator.DeploymentName(request, "run-az1", one.ModelId!)));
        Assert.Equal((ModelStages.Archived, null), (v1.Stage, v1.Deployment));
        // The evaluation answered through its deployment: the fine-tuned model still did better than the base.
        Assert.True((await Report("run-az1")).Summary.Overall.Difference > 0);
        Assert.Contains(nameof(Core.Workflow.Activities.GetDeployment), Calls("run-az1")); // provisioning waited on durable timers
        Assert.Equal(0, _faults.Pending);
    }

    [Fact]
    public async Task OnAzureOpenAI_TheEvaluationDeploysAsTheBaseModelAllows_AndProductionRefusesATypeNotOffered()
    {
        await StartAsync(azure: true);
        var deploy = new Core.Workflow.Activities.DeployModel(
            Deployments(),
            new Core.Workflow.Activities.DeploymentSettings("GlobalStandard", 50)
        );
        var developerOnly = new Core.Workflow.Activities.DeployModel(
            Deployments(),
            new Core.Workflow.Activities.DeploymentSettings("DeveloperTier", 1)
        );

        // gpt-4o-mini's fine-tunes have no Developer deployments (Azure names them base.ft-id); gpt-4.1-mini's do.
        DeploymentState ofMini4o = (await deploy.RunAsync(new("eval-4o", "gpt-4o-mini-2024-07-18.ft-0a1b2c", ForEvaluation: true)))!;
        DeploymentState ofMini41 = (await deploy.RunAsync(new("eval-41", "gpt-4.1-mini-2025-04-14.ft-3d4e5f", ForEvaluation: true)))!;
        DeploymentNotOfferedException refused = await Assert.ThrowsAsync<DeploymentNotOfferedException>(() =>
            developerOnly.RunAsync(new("prod-4o", "gpt-4o-mini-2024-07-18.ft-0a1b2c", ForEvaluation: false))
        );

        Assert.Equal(("GlobalStandard", "DeveloperTier"), (ofMini4o.Sku, ofMini41.Sku));
        Assert.Contains("it offers Standard, GlobalStandard, DataZoneStandard", refused.Message, StringComparison.Ordinal);
        Assert.Null(await Deployments().GetAsync("prod-4o")); // refused before anything was created
        Assert.Contains(typeof(DeploymentNotOfferedException).FullName!, Retries.Permanent);
    }

    [Fact]
    public async Task OnAzureOpenAI_ArchivingRemovesTheDeployment_AndPromotingDeploysBeforeTheModelIsProduction()
    {
        await StartAsync(azure: true);
        RunOutcome outcome = await Run("run-az-archive", await Dataset(r => r with { Approval = "auto" }));
        Assert.True(outcome.Status == RunStatus.Succeeded, outcome.Error);
        ModelRow live = (await ((IModelRegistry)_tables).GetAsync(outcome.ModelId!))!;
        Assert.NotNull(await Deployments().GetAsync(live.Deployment!));
        TimeSpan poll = TimeSpan.FromSeconds(1);

        (ModelRow? archived, ApiProblem? none, _) = await ModelRegistryChanges.ChangeStageOnRequestAsync(
            _tables,
            Deployments(),
            new ModelStageInput(live.ModelId, ModelStages.Archived, DateTime.UtcNow, "ana", "superseded"),
            poll
        );
        Assert.Null(none);
        Assert.Equal((ModelStages.Archived, null), (archived!.Stage, archived.Deployment));
        Assert.Null(await Deployments().GetAsync(live.Deployment!)); // an archived model serves nothing

        // Rolled back: not production yet, but a promotion to start, which deploys first.
        (ModelRow? asked, ApiProblem? fine, PromotionRequest? deploy) = await ModelRegistryChanges.ChangeStageOnRequestAsync(
            _tables,
            Deployments(),
            new ModelStageInput(live.ModelId, ModelStages.Production, DateTime.UtcNow, "ana", "roll back"),
            poll
        );
        Assert.Null(fine);
        Assert.Equal(ModelStages.Archived, asked!.Stage);
        string promotion = ModelPromotion.InstanceId(asked);
        Assert.True(_runtime.ScheduleNew(ModelPromotion.Name, promotion, deploy));
        Assert.False(_runtime.ScheduleNew(ModelPromotion.Name, promotion, deploy)); // asked twice: one promotion
        InstanceState state = await Runtime.DurableRuntimeTests.RunToEnd(_runtime, _clock, promotion);

        Assert.True(state.Status == InstanceStatus.Completed, state.Failure);
        PromotionOutcome promoted = JsonSerializer.Deserialize<PromotionOutcome>(state.Output!, ReportSerializer.Options)!;
        Assert.True(promoted.Promoted, promoted.Error);
        ModelRow back = (await ((IModelRegistry)_tables).GetAsync(live.ModelId))!;
        Assert.Equal((ModelStages.Production, deploy!.DeploymentName), (back.Stage, back.Deployment));
        Assert.Equal(("ana", "roll back"), (back.StageHistory[^1].By, back.StageHistory[^1].Why));
        DeploymentState deployed = (await Deployments().GetAsync(deploy.DeploymentName))!;
        Assert.Equal((live.ModelId, DeploymentStates.Succeeded), (deployed.Model, deployed.ProvisioningState));
        Assert.Contains(nameof(Core.Workflow.Activities.GetDeployment), Calls(promotion)); // provisioning followed on timers
    }

    [Fact]
    public async Task WhereNothingIsDeployed_APromoteIsAChangeOfStage()
    {
        await StartAsync();
        RunOutcome outcome = await Run("run-openai-promote", await Dataset(r => r with { Approval = "auto" }));
        TimeSpan poll = TimeSpan.FromSeconds(1);

        (ModelRow? archived, _, _) = await ModelRegistryChanges.ChangeStageOnRequestAsync(
            _tables,
            null,
            new ModelStageInput(outcome.ModelId!, ModelStages.Archived, DateTime.UtcNow, "ana", null),
            poll
        );
        (ModelRow? promoted, ApiProblem? problem, PromotionRequest? deploy) = await ModelRegistryChanges.ChangeStageOnRequestAsync(
            _tables,
            null,
            new ModelStageInput(outcome.ModelId!, ModelStages.Production, DateTime.UtcNow, "ana", "roll back"),
            poll
        );

        Assert.Equal(ModelStages.Archived, archived!.Stage);
        Assert.Null(problem);
        Assert.Null(deploy);
        Assert.Equal(ModelStages.Production, promoted!.Stage);
    }

    [Fact]
    public async Task OnAzureOpenAI_ADeploymentNameThatServesAnotherModel_FailsTheRunAndKeepsTheModelACandidate()
    {
        await StartAsync(azure: true);
        RunRequest request = await Dataset(r => r with { Approval = "auto" });
        // The production deployment's name (the suffix and the run) is taken by another model.
        await Deployments().CreateOrUpdateAsync(new DeploymentRequest("support-taken", "gpt-4o", "Standard", 1));

        RunOutcome outcome = await Run("run-taken", request);

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("is taken: it serves gpt-4o", outcome.Error, StringComparison.Ordinal);
        Assert.Equal(ModelStages.Candidate, Assert.Single(await ((IModelRegistry)_tables).ListAsync()).Stage);
        Assert.Null(await Deployments().GetAsync("support-taken-eval")); // the evaluation's deployment went all the same
    }

    [Fact]
    public async Task AModelThatRegressesOnATopic_IsRejected_NamingTheTopic_AndNeverWaitsOrDeploys()
    {
        _skill = _skill with { FineTunedByTopic = new Dictionary<string, double> { ["returns"] = 0.05 } };
        await StartAsync();

        RunOutcome outcome = await Run("run-regress", await Dataset());

        Assert.Equal(RunStatus.Rejected, outcome.Status);
        Assert.Contains("topic 'returns' fell by", outcome.Error, StringComparison.Ordinal);
        ModelRow model = Assert.Single(await ((IModelRegistry)_tables).ListAsync());
        Assert.Equal(ModelStages.Rejected, model.Stage);
        Assert.Contains("returns", model.Evaluation!.RegressedTopics);
        Assert.DoesNotContain(nameof(Core.Workflow.Activities.ChangeModelStage), Calls("run-regress"));
        Assert.Equal(RunStages.RegisterModel, (await ((IRunStore)_tables).GetAsync("run-regress"))!.Stage);
    }

    [Fact]
    public async Task AWorseModel_IsARegression_AndRejected()
    {
        _skill = new EmulatorSkill { Base = 0.8, FineTuned = 0.2 };
        await StartAsync();

        RunOutcome outcome = await Run("run-worse", await Dataset());

        Assert.Equal(RunStatus.Rejected, outcome.Status);
        EvaluationReport report = await Report("run-worse");
        Assert.Equal(EvaluationOutcome.Regression, report.Summary.Outcome);
        Assert.Equal("don't deploy", report.Summary.Advice);
    }

    [Fact]
    public async Task AModelNobodyApproves_EndsNotApproved_AfterTheTimeout_AndStaysACandidate()
    {
        await StartAsync();

        RunOutcome outcome = await Run("run-wait", await Dataset(r => r with { ApprovalTimeout = TimeSpan.FromDays(2) }));

        Assert.Equal(RunStatus.NotApproved, outcome.Status);
        Assert.Contains("No approval within 2 days", outcome.Error, StringComparison.Ordinal);
        Assert.Equal(ModelStages.Candidate, Assert.Single(await ((IModelRegistry)_tables).ListAsync()).Stage);
    }

    [Fact]
    public async Task ARejectedModel_IsRejectedWithWhoAndWhy_AndNotDeployed()
    {
        await StartAsync();
        DecideAfterRegistration(FineTuningOrchestrator.RejectEvent, new Decision("li", "tone is off in returns"));

        RunOutcome outcome = await Run("run-no", await Dataset());

        Assert.Equal(RunStatus.Rejected, outcome.Status);
        Assert.Equal("Rejected by li: tone is off in returns. The model is not deployed.", outcome.Error);
        ModelRow model = Assert.Single(await ((IModelRegistry)_tables).ListAsync());
        Assert.Equal(ModelStages.Rejected, model.Stage);
        Assert.Equal(("li", "tone is off in returns"), (model.StageHistory[^1].By, model.StageHistory[^1].Why));
        Assert.DoesNotContain(RunStages.Deploy, _history.LoadHistory("run-no").Select(e => e.Name));
    }

    [Fact]
    public async Task AutoApproval_PromotesAtOnce_AndANewVersionArchivesTheProductionOne()
    {
        await StartAsync();
        RunRequest first = await Dataset(r => r with { Approval = "auto" });
        RunOutcome one = await Run("run-v1", first);
        RunOutcome two = await Run("run-v2", first with { Attempt = 2 });

        Assert.Equal((RunStatus.Succeeded, RunStatus.Succeeded), (one.Status, two.Status));
        ModelRow v1 = (await ((IModelRegistry)_tables).GetAsync(one.ModelId!))!;
        ModelRow v2 = (await ((IModelRegistry)_tables).GetAsync(two.ModelId!))!;
        Assert.Equal((1, ModelStages.Archived), (v1.Version, v1.Stage));
        Assert.Equal((2, ModelStages.Production), (v2.Version, v2.Stage));
        Assert.Equal($"replaced in production by version 2 ({v2.ModelId})", v1.StageHistory[^1].Why);
        Assert.Equal(FineTuningOrchestrator.Workflow, v2.StageHistory[^1].By);
    }

    [Fact]
    public async Task ABudgetTheEvaluationWouldExceed_StopsTheRunBeforeAnythingIsUploaded()
    {
        await StartAsync();
        RunRequest request = await Dataset();
        RunOutcome free = await Run("run-cheap", request with { Evaluate = false, BudgetUsd = 1000 });
        decimal training = (await ((IRunStore)_tables).GetAsync("run-cheap"))!.EstimatedCostUsd!.Value;

        // Enough for the training alone, not for the training and the evaluation.
        RunOutcome outcome = await Run("run-budget", request with { BudgetUsd = training + 0.0001m, Attempt = 2 });

        Assert.Equal(RunStatus.Succeeded, free.Status);
        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("to evaluate 30 held-out rows", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("UploadFile", Calls("run-budget"));
    }

    [Fact]
    public async Task AnApproval_ForARunThatIsNotWaiting_IsAConflict()
    {
        await StartAsync();
        RunOutcome outcome = await Run("run-done", await Dataset(r => r with { Approval = "auto" }));

        ApiProblem? problem = await LocalRunHost.RequestControlAsync(_history, _tables, "run-done", "approve", _clock, new Decision("ana"));

        Assert.Equal(RunStatus.Succeeded, outcome.Status);
        Assert.Equal(409, problem?.Status);
        Assert.Contains("has already ended", problem!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRegistry_RefusesToPromoteARejectedModel_AndKeepsOneProductionModelPerName()
    {
        _skill = new EmulatorSkill { Base = 0.8, FineTuned = 0.2 };
        await StartAsync();
        RunOutcome outcome = await Run("run-bad", await Dataset());

        (ModelRow? promoted, ApiProblem? refused, _) = await ModelRegistryChanges.ChangeStageAsync(
            _tables,
            new ModelStageInput(outcome.ModelId!, ModelStages.Production, DateTime.UtcNow, "ana", null)
        );
        (ModelRow? missing, ApiProblem? notFound, _) = await ModelRegistryChanges.ChangeStageAsync(
            _tables,
            new ModelStageInput("ft:nope", ModelStages.Production, DateTime.UtcNow, "ana", null)
        );

        Assert.Null(promoted);
        Assert.Equal(409, refused!.Status);
        Assert.Contains("A rejected model is never promoted", refused.Detail, StringComparison.Ordinal);
        Assert.Null(missing);
        Assert.Equal(404, notFound!.Status);
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Workflow;

/// <summary>An activity as a host calls it: JSON in, JSON out, as Durable Functions passes payloads.</summary>
public delegate Task<JsonElement> ActivityFunction(JsonElement input, CancellationToken cancellationToken);

/// <summary>
/// Every orchestrator and activity of the workflow, declared once: name, input and output types, implementation.
/// The embedded runtime's bindings, the Functions host's registrations and the tests' Durable harness are derived from
/// it; the Functions host keeps one <c>[Function]</c> shell per entry (its source generator needs them), and a test
/// fails, naming the entry, when a shell or a build-time JSON contract is missing.
/// To add a stage: write the activity (one file in <c>Activities/</c>), add a line here, call it from the orchestrator.
/// </summary>
public static class WorkflowCatalog
{
    /// <summary>The orchestrators: the run, the job monitor it runs as a child, and a person's promote that deploys.</summary>
    public static IReadOnlyList<WorkflowOrchestrator> Orchestrators { get; } =
    [
        new WorkflowOrchestrator<RunRequest, RunOutcome>(nameof(FineTuningOrchestrator), FineTuningOrchestrator.RunAsync),
        new WorkflowOrchestrator<MonitorInput, MonitorResult>(JobMonitor.Name, JobMonitor.RunAsync),
        new WorkflowOrchestrator<PromotionRequest, PromotionOutcome>(ModelPromotion.Name, ModelPromotion.RunAsync),
    ];

    /// <summary>The activities, in the order the run calls them.</summary>
    public static IReadOnlyList<WorkflowActivity> Activities { get; } =
    [
        Activity<PlanShards, PlanShardsInput, ShardPlan>(),
        Activity<ValidateShard, ValidateShardInput, ShardValidated>(),
        Activity<MergeValidation, MergeValidationInput, ValidationSummary>(),
        Activity<CheckGrader, CheckGraderInput, GraderChecked>(),
        Activity<SplitDataset, SplitInput, SplitSummary>(),
        Activity<UploadFile, string, ProviderFile>(),
        Activity<GetFileStatus, string, ProviderFile>(),
        Activity<SubmitJob, JobRequest, JobSnapshot>(),
        Activity<GetJob, string, JobSnapshot>(),
        Activity<CancelJob, string, JobSnapshot>(),
        Activity<PauseJob, string, JobSnapshot>(),
        Activity<ResumeJob, string, JobSnapshot>(),
        Activity<CollectResults, CollectResultsInput, ResultsSummary>(),
        Activity<PlanEvaluation, Evaluation.EvaluationInput, Evaluation.EvaluationPlan>(),
        Activity<EvaluateBatch, Evaluation.EvaluateBatchInput, Evaluation.BatchEvaluated>(),
        Activity<ReportEvaluation, Evaluation.ReportEvaluationInput, Evaluation.EvaluationDigest>(),
        Activity<UpdateRun, RunRow, bool>(),
        Activity<RegisterModel, ModelRow, bool>(),
        Activity<ChangeModelStage, ModelStageInput, StageChanged>(),
        Activity<DeployModel, DeployInput, DeploymentState?>(),
        Activity<GetDeployment, string, DeploymentState?>(),
        Activity<RemoveDeployment, string, bool>(),
    ];

    /// <summary>
    /// The activities bound to their implementations in <paramref name="services"/>, by name (the embedded runtime's
    /// table).
    /// </summary>
    public static IReadOnlyDictionary<string, ActivityFunction> BindActivities(IServiceProvider services) =>
        Activities.ToDictionary(a => a.Name, a => a.Bind(services), StringComparer.Ordinal);

    private static WorkflowActivity<TActivity, TInput, TOutput> Activity<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TActivity,
        TInput,
        TOutput
    >()
        where TActivity : class, IWorkflowActivity<TInput, TOutput> => new(typeof(TActivity).Name);
}

/// <summary>Registers or calls catalogue entries with their types (a host's generic registration API).</summary>
public interface IWorkflowVisitor
{
    void Activity<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TActivity, TInput, TOutput>(
        WorkflowActivity activity
    )
        where TActivity : class, IWorkflowActivity<TInput, TOutput>;

    void Orchestrator<TInput, TOutput>(WorkflowOrchestrator<TInput, TOutput> orchestrator);
}

/// <summary>An activity of the catalogue.</summary>
public abstract class WorkflowActivity(
    string name,
    Type input,
    Type output,
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type implementation
)
{
    /// <summary>Its name in the durable history and on the Functions host (the class name).</summary>
    public string Name { get; } = name;

    public Type Input { get; } = input;

    public Type Output { get; } = output;

    /// <summary>The class a host registers in its container; its constructor takes the ports it needs.</summary>
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)]
    public Type Implementation { get; } = implementation;

    /// <summary>The activity resolved from <paramref name="services"/>, called with JSON as Durable passes it.</summary>
    public abstract ActivityFunction Bind(IServiceProvider services);

    public abstract void Accept(IWorkflowVisitor visitor);

    public override string ToString() => Name;
}

/// <inheritdoc />
public sealed class WorkflowActivity<
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TActivity,
    TInput,
    TOutput
>(string name) : WorkflowActivity(name, typeof(TInput), typeof(TOutput), typeof(TActivity))
    where TActivity : class, IWorkflowActivity<TInput, TOutput>
{
    public override ActivityFunction Bind(IServiceProvider services)
    {
        var activity = (TActivity)(
            services.GetService(typeof(TActivity))
            ?? throw new InvalidOperationException(
                $"The activity {Name} ({typeof(TActivity).FullName}) is not registered with the host's services."
            )
        );
        return async (input, cancellationToken) =>
        {
            TInput value = input.Deserialize(ReportSerializer.TypeInfo<TInput>())!;
            TOutput result = await activity.RunAsync(value, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.SerializeToElement(result, ReportSerializer.TypeInfo<TOutput>());
        };
    }

    public override void Accept(IWorkflowVisitor visitor) => visitor.Activity<TActivity, TInput, TOutput>(this);
}

/// <summary>An orchestrator of the catalogue.</summary>
public abstract class WorkflowOrchestrator(string name, Type input, Type output)
{
    /// <summary>Its name in the durable history, the same on both hosts.</summary>
    public string Name { get; } = name;

    public Type Input { get; } = input;

    public Type Output { get; } = output;

    /// <summary>Runs the orchestrator with JSON in and out (the embedded runtime's payloads).</summary>
    public abstract Task<JsonElement> RunAsync(IOrchestrationContext context, JsonElement input);

    public abstract void Accept(IWorkflowVisitor visitor);

    public override string ToString() => Name;
}

/// <inheritdoc />
public sealed class WorkflowOrchestrator<TInput, TOutput>(string name, Func<IOrchestrationContext, TInput, Task<TOutput>> run)
    : WorkflowOrchestrator(name, typeof(TInput), typeof(TOutput))
{
    /// <summary>Runs the orchestrator with its typed input.</summary>
    public Task<TOutput> RunAsync(IOrchestrationContext context, TInput input) => run(context, input);

    public override async Task<JsonElement> RunAsync(IOrchestrationContext context, JsonElement input)
    {
        // ConfigureAwait(true): orchestrator code continues on the runtime's single logical thread.
        TOutput output = await run(context, input.Deserialize(ReportSerializer.TypeInfo<TInput>())!).ConfigureAwait(true);
        return JsonSerializer.SerializeToElement(output, ReportSerializer.TypeInfo<TOutput>());
    }

    public override void Accept(IWorkflowVisitor visitor) => visitor.Orchestrator(this);
}

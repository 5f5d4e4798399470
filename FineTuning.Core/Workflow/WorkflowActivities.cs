using System.Text.Json;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Workflow;

/// <summary>An activity as a host calls it: JSON in, JSON out, as Durable Functions passes payloads.</summary>
public delegate Task<JsonElement> ActivityFunction(JsonElement input, CancellationToken cancellationToken);

/// <summary>Every activity of the workflow by name (<c>nameof</c> of its class), bound to the ports it uses.</summary>
public static class WorkflowActivities
{
    public static IReadOnlyDictionary<string, ActivityFunction> Create(IBlobStore blobs, IFineTuningProvider provider, IRunStore runs, IModelRegistry models, ModelCatalog catalog) =>
        new Dictionary<string, ActivityFunction>(StringComparer.Ordinal)
        {
            [nameof(PlanShards)] = Bind<PlanShardsInput, ShardPlan>(new PlanShards(blobs).RunAsync),
            [nameof(ValidateShard)] = Bind<ValidateShardInput, ShardValidated>(new ValidateShard(blobs, catalog).RunAsync),
            [nameof(MergeValidation)] = Bind<MergeValidationInput, ValidationSummary>(new MergeValidation(blobs, catalog).RunAsync),
            [nameof(SplitDataset)] = Bind<SplitInput, SplitSummary>(new SplitDataset(blobs, catalog).RunAsync),
            [nameof(UploadFile)] = Bind<string, ProviderFile>(new UploadFile(blobs, provider).RunAsync),
            [nameof(GetFileStatus)] = Bind<string, ProviderFile>(new GetFileStatus(provider).RunAsync),
            [nameof(SubmitJob)] = Bind<JobRequest, JobSnapshot>(new SubmitJob(provider).RunAsync),
            [nameof(GetJob)] = Bind<string, JobSnapshot>(new GetJob(provider).RunAsync),
            [nameof(CancelJob)] = Bind<string, JobSnapshot>(new CancelJob(provider).RunAsync),
            [nameof(CollectResults)] = Bind<CollectResultsInput, ResultsSummary>(new CollectResults(blobs, provider).RunAsync),
            [nameof(UpdateRun)] = Bind<RunRow, bool>(new UpdateRun(runs).RunAsync),
            [nameof(RegisterModel)] = Bind<ModelRow, bool>(new RegisterModel(models).RunAsync),
        };

    private static ActivityFunction Bind<TIn, TOut>(Func<TIn, CancellationToken, Task<TOut>> run) => async (input, cancellationToken) =>
    {
        TIn value = input.Deserialize(ReportSerializer.TypeInfo<TIn>())!;
        TOut result = await run(value, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.SerializeToElement(result, ReportSerializer.TypeInfo<TOut>());
    };
}

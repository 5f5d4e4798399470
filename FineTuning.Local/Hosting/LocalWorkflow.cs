using FineTuning.Core.Catalog;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Local.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace FineTuning.Local.Hosting;

/// <summary>The workflow catalogue bound for the embedded runtime: its orchestrators and activities by name.</summary>
public static class LocalWorkflow
{
    /// <summary>
    /// The orchestrator's name before both hosts used <c>FineTuningOrchestrator</c>: unfinished runs recorded under it
    /// in a data directory's history still resume.
    /// </summary>
    public const string LegacyOrchestrator = "FineTuning";

    /// <summary>The catalogue's orchestrators, JSON in and out.</summary>
    public static IReadOnlyDictionary<string, OrchestratorFunction> Orchestrators { get; } = CreateOrchestrators();

    /// <summary>Registers every activity of the catalogue (its ports must be registered too).</summary>
    public static IServiceCollection AddWorkflowActivities(this IServiceCollection services)
    {
        foreach (WorkflowActivity activity in WorkflowCatalog.Activities)
        {
            services.AddSingleton(activity.Implementation);
        }

        return services;
    }

    /// <summary>The catalogue's activities bound to these ports.</summary>
    public static IReadOnlyDictionary<string, ActivityFunction> Activities(
        IBlobStore blobs,
        IFineTuningProvider provider,
        IRunStore runs,
        IModelRegistry models,
        ModelCatalog catalog,
        EvaluationOptions? evaluation = null,
        IModelDeployments? deployments = null
    )
    {
        var services = new ServiceCollection().AddSingleton(evaluation ?? new EvaluationOptions());
        if (deployments is not null)
            services.AddSingleton(deployments);
        services
            .AddSingleton(blobs)
            .AddSingleton(provider)
            .AddSingleton(runs)
            .AddSingleton(models)
            .AddSingleton(catalog)
            .AddWorkflowActivities();
        // Activities are stateless singletons over the ports, which their owner disposes: the container holds nothing to dispose.
        return WorkflowCatalog.BindActivities(services.BuildServiceProvider());
    }

    private static Dictionary<string, OrchestratorFunction> CreateOrchestrators()
    {
        var functions = WorkflowCatalog.Orchestrators.ToDictionary(
            o => o.Name,
            o => (OrchestratorFunction)o.RunAsync,
            StringComparer.Ordinal
        );
        functions[LegacyOrchestrator] = functions[nameof(FineTuningOrchestrator)];
        return functions;
    }
}

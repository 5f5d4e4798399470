using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow;

/// <summary>A person's promote, on a host that deploys: the model, its deployment's name, who and why, how often to look.</summary>
public sealed record PromotionRequest(string ModelId, string DeploymentName, Decision Decision, TimeSpan PollInterval);

/// <summary>How a promotion ended: promoted with its deployment, or why not (the model's stage is then unchanged).</summary>
public sealed record PromotionOutcome(bool Promoted, string ModelId, string? Deployment, string? Error);

/// <summary>
/// Promotes a registered model that has no deployment on the host's Azure OpenAI account: deploys it (the production
/// SKU and capacity, provisioning followed on durable timers, as a run's Deploy stage does), makes it production once
/// the deployment is live (archiving the production model before it), then removes the deployment of the model it
/// replaced. A deployment that fails leaves the model's stage as it was.
/// </summary>
public static class ModelPromotion
{
    public const string Name = nameof(ModelPromotion);

    /// <summary>
    /// The instance that promotes a model from the stage it is in (its history's length): asked twice while it deploys,
    /// one promotion; asked again after the model has moved on, a new one.
    /// </summary>
    public static string InstanceId(ModelRow model) =>
        "promote-"
        + Hashing.ContentHash.Of(System.Text.Encoding.UTF8.GetBytes($"{model.ModelId}\n{model.StageHistory.Count}")).ToString()[..20];

    public static async Task<PromotionOutcome> RunAsync(IOrchestrationContext context, PromotionRequest request)
    {
        using var signals = new RunSignals(context);
        DeploymentState? deployment = await FineTuningOrchestrator.DeployAsync(
            context,
            signals,
            request.PollInterval,
            request.DeploymentName,
            request.ModelId,
            forEvaluation: false
        );
        if (deployment is { Succeeded: false })
        {
            return new PromotionOutcome(
                false,
                request.ModelId,
                deployment.Name,
                $"The deployment {deployment.Name} did not succeed ({deployment.ProvisioningState}"
                    + $"{(deployment.Error is { } e ? $": {e}" : "")}); the model's stage is unchanged."
            );
        }

        await FineTuningOrchestrator.MakeProductionAsync(context, request.ModelId, request.Decision, deployment?.Name);
        return new PromotionOutcome(true, request.ModelId, deployment?.Name, null);
    }
}

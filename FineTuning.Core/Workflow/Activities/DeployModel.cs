using FineTuning.Core.Providers;

namespace FineTuning.Core.Workflow.Activities;

/// <summary>What to deploy, under which name, and what for (the evaluation's short-lived deployment, or production).</summary>
public sealed record DeployInput(string Name, string Model, bool ForEvaluation);

/// <summary>
/// Creates a deployment of the model on the host's Azure OpenAI account (a Developer deployment for an evaluation, the
/// configured SKU and capacity for production), or answers null when the host has nothing to deploy (OpenAI, the
/// emulator without an account). A name that serves another model is refused for good
/// (<see cref="DeploymentNameTakenException"/>); asked again for the same model, it is the same deployment.
/// </summary>
public sealed class DeployModel(
    IModelDeployments? deployments = null,
    DeploymentSettings? settings = null,
    Catalog.ModelCatalog? catalog = null
) : IWorkflowActivity<DeployInput, DeploymentState?>
{
    public const string Developer = "DeveloperTier";

    public async Task<DeploymentState?> RunAsync(DeployInput input, CancellationToken cancellationToken = default)
    {
        if (deployments is null)
            return null;
        DeploymentSettings how = settings ?? new DeploymentSettings();
        if (
            await deployments.GetAsync(input.Name, cancellationToken).ConfigureAwait(false) is { } existing
            && existing.Model != input.Model
        )
        {
            throw new DeploymentNameTakenException(
                $"The deployment name '{input.Name}' is taken: it serves {existing.Model}, not {input.Model}. Remove that deployment, "
                    + "or give the run another name (name, --name)."
            );
        }

        // Not every base model's fine-tunes deploy with every type (gpt-4o's have no Developer deployments, gpt-5's only
        // Standard): the evaluation takes Developer where it can, else the production type, else the one offered.
        Catalog.ModelFacts? facts = (catalog ?? Catalog.ModelCatalog.Default).Find(input.Model);
        string sku = how.Sku;
        if (input.ForEvaluation)
        {
            sku =
                facts?.AzureDeploys(Developer) != false ? Developer
                : facts.AzureDeploys(how.Sku) ? how.Sku
                : facts.AzureDeploymentTypes![0];
        }
        else if (facts?.AzureDeploys(how.Sku) == false)
        {
            throw new DeploymentNotOfferedException(
                $"Azure OpenAI does not deploy models fine-tuned from {facts.Name} as {how.Sku} (it offers "
                    + $"{string.Join(", ", facts.AzureDeploymentTypes!)}): set FineTuning__Deployments__Sku to one of them. "
                    + "The model stays a registered candidate, not deployed."
            );
        }

        return await deployments
            .CreateOrUpdateAsync(
                new DeploymentRequest(input.Name, input.Model, sku, input.ForEvaluation ? Math.Min(how.Capacity, 10) : how.Capacity),
                cancellationToken
            )
            .ConfigureAwait(false);
    }
}

/// <summary>A deployment's state now (provisioning goes on after <see cref="DeployModel"/>); null when it is gone.</summary>
public sealed class GetDeployment(IModelDeployments? deployments = null) : IWorkflowActivity<string, DeploymentState?>
{
    public async Task<DeploymentState?> RunAsync(string name, CancellationToken cancellationToken = default) =>
        deployments is null ? null : await deployments.GetAsync(name, cancellationToken).ConfigureAwait(false);
}

/// <summary>Removes a deployment (the evaluation's, or a production model's that was replaced); nothing when it is gone.</summary>
public sealed class RemoveDeployment(IModelDeployments? deployments = null) : IWorkflowActivity<string, bool>
{
    public async Task<bool> RunAsync(string name, CancellationToken cancellationToken = default)
    {
        if (deployments is null)
            return false;
        await deployments.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
        return true;
    }
}

/// <summary>The SKU and capacity of production deployments (a host's <c>FineTuning:Deployments</c> settings).</summary>
public sealed record DeploymentSettings(string Sku = "GlobalStandard", int Capacity = 50);

namespace FineTuning.Core.Providers;

/// <summary>
/// A deployment of a model on an Azure OpenAI account (<c>Microsoft.CognitiveServices/accounts/deployments</c>): its
/// name, the model it serves, its SKU and capacity (thousands of tokens a minute).
/// </summary>
public sealed record DeploymentRequest(string Name, string Model, string Sku, int Capacity);

/// <summary>A deployment as Azure Resource Manager reports it.</summary>
public sealed record DeploymentState(string Name, string Model, string Sku, string ProvisioningState, string? Error = null)
{
    /// <summary>Whether it serves requests.</summary>
    public bool Succeeded => ProvisioningState == DeploymentStates.Succeeded;

    /// <summary>Whether it will not get any further (failed, cancelled, deleted).</summary>
    public bool Failed => ProvisioningState is DeploymentStates.Failed or DeploymentStates.Canceled or DeploymentStates.Deleting;
}

/// <summary>The provisioning states a deployment passes through.</summary>
public static class DeploymentStates
{
    public const string Accepted = "Accepted";
    public const string Creating = "Creating";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Canceled = "Canceled";
    public const string Deleting = "Deleting";
}

/// <summary>
/// The port to an Azure OpenAI account's deployments (Azure Resource Manager, with the host's identity). A host without
/// one (OpenAI, and the emulator unless it is given an account) has nothing to deploy: a fine-tuned model answers by its
/// id at once.
/// </summary>
public interface IModelDeployments
{
    /// <summary>The deployment, or null when there is none by that name.</summary>
    Task<DeploymentState?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Creates (or updates) the deployment; returns its state at once (provisioning goes on).</summary>
    Task<DeploymentState> CreateOrUpdateAsync(DeploymentRequest request, CancellationToken cancellationToken = default);

    /// <summary>Removes the deployment; nothing when there is none.</summary>
    Task DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>
/// A deployment name that is someone else's (another model): refused for good, not retried.
/// </summary>
public sealed class DeploymentNameTakenException(string message) : Exception(message);

/// <summary>A deployment type Azure OpenAI does not offer for the model's base (the catalogue says which it does): not retried.</summary>
public sealed class DeploymentNotOfferedException(string message) : Exception(message);

using System.Text.RegularExpressions;

namespace FineTuning.OpenAI;

/// <summary>
/// Section <c>FineTuning:Deployments</c>: where the workflow deploys models on Azure OpenAI. Without an account the host
/// has nothing to deploy (OpenAI, the emulator): a fine-tuned model answers by its id at once.
/// </summary>
public sealed partial class DeploymentOptions
{
    public const string Section = "FineTuning:Deployments";

    /// <summary>
    /// The Azure OpenAI account's resource id
    /// (<c>/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.CognitiveServices/accounts/{a}</c>);
    /// null: nothing to deploy.
    /// </summary>
    public string? AccountResourceId { get; set; }

    /// <summary>Azure Resource Manager (the emulator's <c>/arm/</c> in tests).</summary>
    public Uri ManagementEndpoint { get; set; } = new("https://management.azure.com/");

    /// <summary>The SKU of a production deployment: <c>Standard</c>, <c>GlobalStandard</c> or <c>DeveloperTier</c>.</summary>
    public string Sku { get; set; } = "GlobalStandard";

    /// <summary>Its capacity in thousands of tokens a minute.</summary>
    public int Capacity { get; set; } = 50;

    /// <summary>
    /// A key for the emulator's Resource Manager, which serves plain HTTP (Azure's takes the host's Entra ID token, never a
    /// key); null on Azure.
    /// </summary>
    public string? EmulatorKey { get; set; }

    /// <summary>Describes what is wrong with these settings, or null.</summary>
    public string? Problem() =>
        AccountResourceId is { } id && !AccountId().IsMatch(id)
            ? "FineTuning__Deployments__AccountResourceId must be an Azure OpenAI account's resource id: "
                + "/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{name}"
        : Sku is not ("Standard" or "GlobalStandard" or "DeveloperTier" or "DataZoneStandard")
            ? "FineTuning__Deployments__Sku must be Standard, GlobalStandard, DataZoneStandard or DeveloperTier"
        : Capacity is < 1 or > 100_000 ? "FineTuning__Deployments__Capacity must be between 1 and 100,000 (thousands of tokens a minute)"
        : EmulatorKey is null && ManagementEndpoint.Scheme != Uri.UriSchemeHttps
            ? "FineTuning__Deployments__ManagementEndpoint must be https (only the emulator's, with an EmulatorKey, is plain HTTP)"
        : null;

    [GeneratedRegex(
        @"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+$",
        RegexOptions.IgnoreCase
    )]
    private static partial Regex AccountId();
}

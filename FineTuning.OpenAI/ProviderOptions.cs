using FineTuning.Core.Catalog;

namespace FineTuning.OpenAI;

/// <summary>Which service runs the jobs.</summary>
public enum ProviderKind
{
    /// <summary>The local emulator (the default when nothing is configured).</summary>
    Emulator,

    /// <summary>Azure OpenAI through its <c>/openai/v1/</c> endpoint (the primary provider).</summary>
    AzureOpenAI,

    /// <summary>OpenAI (self-serve fine-tuning takes no new jobs after 2027-01-06).</summary>
    OpenAI,
}

/// <summary>How the provider authenticates on Azure.</summary>
public enum AzureAuth
{
    /// <summary>Microsoft Entra ID through DefaultAzureCredential (a managed identity in Azure).</summary>
    EntraId,

    /// <summary>The resource's key in an <c>api-key</c> header.</summary>
    ApiKey,
}

/// <summary>Settings of section <c>FineTuning:Provider</c> (environment: <c>FineTuning__Provider__Kind</c>, ...).</summary>
public sealed class ProviderOptions
{
    public const string Section = "FineTuning:Provider";

    public ProviderKind Kind { get; set; } = ProviderKind.Emulator;

    /// <summary>
    /// Azure: <c>https://{resource}.openai.azure.com/openai/v1/</c> (or a Foundry project endpoint); emulator: its base
    /// URL.
    /// </summary>
    public Uri? Endpoint { get; set; }

    public AzureAuth Auth { get; set; } = AzureAuth.EntraId;

    /// <summary>The key for OpenAI, the emulator, or Azure with <see cref="AzureAuth.ApiKey"/>. Never logged.</summary>
    public string? ApiKey { get; set; }

    public string? Organization { get; set; }

    public string? Project { get; set; }

    /// <summary>
    /// Azure's training tier: Standard, GlobalStandard or Developer (sent as <c>trainingType</c>); empty is unset (the
    /// service's default), as an empty environment variable reads.
    /// </summary>
    public string? TrainingType
    {
        get;
        set => field = string.IsNullOrWhiteSpace(value) ? null : value;
    }

    /// <summary>Files larger than this go through the Uploads API in parts (the services' single-request limit is 512 MB).</summary>
    public long SingleUploadLimitBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Size of one Uploads API part (the services take at most 64 MB).</summary>
    public int UploadPartBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Parts sent at once; each holds a part in memory.</summary>
    public int UploadParallelism { get; set; } = 2;

    /// <summary>How long one HTTP request may take before it is abandoned and retried (the SDK's network timeout).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The longest Retry-After a call waits through before it retries (<c>FineTuning__Provider__MaxRetryWait</c>, default one
    /// minute). A longer one ends the call with <see cref="Core.Providers.ProviderBusyException"/>: a run then waits on a
    /// durable timer, shown in its status, instead of holding an activity for an hour.
    /// </summary>
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>What is wrong with these settings, or null.</summary>
    public string? Problem() =>
        Kind switch
        {
            ProviderKind.AzureOpenAI when Endpoint is null =>
                "FineTuning:Provider:Endpoint is required for Azure OpenAI (https://{resource}.openai.azure.com/openai/v1/).",
            ProviderKind.AzureOpenAI when Auth == AzureAuth.ApiKey && string.IsNullOrEmpty(ApiKey) =>
                "FineTuning:Provider:ApiKey is required when Auth is ApiKey.",
            ProviderKind.OpenAI when string.IsNullOrEmpty(ApiKey) => "FineTuning:Provider:ApiKey is required for OpenAI.",
            ProviderKind.Emulator when Endpoint is null => "FineTuning:Provider:Endpoint (the emulator's base URL) is required.",
            _ when RequestTimeout <= TimeSpan.Zero => "FineTuning:Provider:RequestTimeout must be above 0 (e.g. 00:01:40).",
            ProviderKind.OpenAI when TrainingType is not null =>
                $"FineTuning:Provider:TrainingType ({TrainingType}) is Azure OpenAI's; OpenAI refuses it: leave it unset.",
            _ when TrainingType is not null && !ModelCatalog.Default.AzureTrainingTypes.Any(t => t.Name == TrainingType) =>
                $"FineTuning:Provider:TrainingType ({TrainingType}) must be one of Azure OpenAI's training types: "
                    + string.Join(", ", ModelCatalog.Default.AzureTrainingTypes.Select(t => $"{t.Name} ({t.Says})"))
                    + ".",
            _ => null,
        };
}

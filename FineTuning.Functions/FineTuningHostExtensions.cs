using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Azure.Storage.Blobs;
using FineTuning.Core.Catalog;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Functions.Storage;
using FineTuning.OpenAI;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;

namespace FineTuning.Functions;

/// <summary>Settings of section <c>FineTuning:Storage</c>: identity-based service URIs in Azure, a connection string for Azurite.</summary>
public sealed class StorageOptions
{
    public const string Section = "FineTuning:Storage";

    public Uri? BlobServiceUri { get; set; }

    public Uri? TableServiceUri { get; set; }

    /// <summary>A connection string (Azurite: UseDevelopmentStorage=true); used when the URIs are not set.</summary>
    public string? Connection { get; set; }
}

/// <summary>
/// Everything the Functions host needs, registered once: telemetry, Core's activities, the provider, the Azure adapters.
/// </summary>
public static class FineTuningHostExtensions
{
    /// <summary>The setting that carries Application Insights' connection string (set by the Bicep; absent locally).</summary>
    public const string TelemetryConnectionSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    public static IHostApplicationBuilder AddFineTuning(this IHostApplicationBuilder builder)
    {
        StorageOptions storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        // One credential for the host: telemetry, the storage clients and the Azure OpenAI provider share its token cache.
        // A host that registered its own (a workload identity, a test's) keeps it.
        TokenCredential credential =
            builder.Services.LastOrDefault(s => s.ServiceType == typeof(TokenCredential))?.ImplementationInstance as TokenCredential
            ?? new DefaultAzureCredential();
        builder.Services.AddSingleton(credential);
        builder.AddFineTuningTelemetry(credential);
        BlobServiceClient blobs = storage.BlobServiceUri is { } blobUri
            ? new BlobServiceClient(blobUri, credential)
            : new BlobServiceClient(storage.Connection ?? "UseDevelopmentStorage=true");
        TableServiceClient tables = storage.TableServiceUri is { } tableUri
            ? new TableServiceClient(tableUri, credential)
            : new TableServiceClient(storage.Connection ?? "UseDevelopmentStorage=true");

        builder.Services.AddSingleton<IBlobStore>(new AzureBlobStore(blobs));
        var tableStore = new TableStore(tables);
        builder.Services.AddSingleton<IRunStore>(tableStore);
        builder.Services.AddSingleton<IModelRegistry>(tableStore);
        builder.Services.AddSingleton(ModelCatalog.Default);
        builder.Services.AddFineTuningProvider(builder.Configuration);
        builder.Services.AddFineTuningEvaluation(builder.Configuration);
        builder.Services.AddFineTuningDeployments(builder.Configuration);
        foreach (WorkflowActivity activity in WorkflowCatalog.Activities)
        {
            builder.Services.AddSingleton(activity.Implementation);
        }

        return builder;
    }

    /// <summary>
    /// One telemetry pipeline, OpenTelemetry, as host.json's <c>telemetryMode</c> asks of the host: the worker's logs
    /// and traces carry the host's invocation context (so they correlate) and go to Application Insights through the
    /// Azure Monitor exporter, signed in with <paramref name="credential"/> (local authentication is off on the
    /// component). Without a connection string (a local <c>func start</c>) nothing is exported.
    /// </summary>
    private static void AddFineTuningTelemetry(this IHostApplicationBuilder builder, TokenCredential credential)
    {
        IOpenTelemetryBuilder telemetry = builder.Services.AddOpenTelemetry().UseFunctionsWorkerDefaults();
        if (builder.Configuration[TelemetryConnectionSetting] is { Length: > 0 } connection)
        {
            telemetry.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = connection;
                options.Credential = credential;
            });
        }
    }
}

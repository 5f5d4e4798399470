using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using FineTuning.Core.Catalog;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Functions.Storage;
using FineTuning.OpenAI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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

/// <summary>Everything the Functions host needs, registered once: Core's activities, the provider, the Azure adapters.</summary>
public static class FineTuningHostExtensions
{
    public static IHostApplicationBuilder AddFineTuning(this IHostApplicationBuilder builder)
    {
        StorageOptions storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        // One credential for the host: the storage clients and the Azure OpenAI provider share its token cache.
        var credential = new DefaultAzureCredential();
        builder.Services.AddSingleton<Azure.Core.TokenCredential>(credential);
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
        foreach (WorkflowActivity activity in WorkflowCatalog.Activities)
        {
            builder.Services.AddSingleton(activity.Implementation);
        }

        return builder;
    }
}

using System.Text;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;
using FineTuning.Emulator;
using FineTuning.Functions;
using FineTuning.Functions.Activities;
using FineTuning.Functions.Orchestrators;
using FineTuning.Tests.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FineTuning.Tests.Functions;

/// <summary>
/// The Azure host short of the Functions runtime: its own composition (<see cref="FineTuningHostExtensions.AddFineTuning"/>)
/// over Azurite's blobs and tables and the emulator (through the OpenAI SDK), and its orchestrator and activity functions
/// on the Durable Task engine in process (with its replay).
/// </summary>
public sealed class AzureHost : IAsyncDisposable
{
    private AzureHost(EmulatorServer emulator, IHost app, DurableTaskTestHost durable)
    {
        Emulator = emulator;
        App = app;
        Durable = durable;
    }

    public EmulatorServer Emulator { get; }

    public IHost App { get; }

    public DurableTaskTestHost Durable { get; }

    public static async Task<AzureHost> StartAsync(AzuriteFixture azurite, FaultPlan? faults = null)
    {
        EmulatorServer emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Speed = 600, Faults = faults ?? new FaultPlan() });
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FineTuning:Storage:Connection"] = azurite.ConnectionString,
            ["FineTuning:Provider:Kind"] = "Emulator",
            ["FineTuning:Provider:Endpoint"] = emulator.OpenAIEndpoint.ToString(),
            ["FineTuning:Provider:ApiKey"] = "test-key",
        });
        builder.AddFineTuning();
        IHost app = builder.Build();
        var functions = ActivatorUtilities.CreateInstance<WorkflowActivityFunctions>(app.Services);
        DurableTaskTestHost durable = await DurableTaskTestHost.StartAsync(tasks =>
        {
            // Typed inputs, so the engine reads each input as what the function's GetInput<T> asks for (in Functions the
            // trigger binding does that); the function itself is the host's.
            tasks.AddOrchestratorFunc<RunRequest, RunOutcome>(nameof(FineTuningOrchestrator), (context, _) => FineTuningOrchestration.RunAsync(context));
            tasks.AddOrchestratorFunc<MonitorInput, MonitorResult>(JobMonitor.Name, (context, _) => FineTuningOrchestration.MonitorAsync(context));
            tasks.AddActivityFunc<PlanShardsInput, ShardPlan>(nameof(PlanShards), (_, input) => functions.PlanShardsAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<ValidateShardInput, ShardValidated>(nameof(ValidateShard), (_, input) => functions.ValidateShardAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<MergeValidationInput, ValidationSummary>(nameof(MergeValidation), (_, input) => functions.MergeValidationAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<SplitInput, SplitSummary>(nameof(SplitDataset), (_, input) => functions.SplitDatasetAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<string, ProviderFile>(nameof(UploadFile), (_, blob) => functions.UploadFileAsync(blob, CancellationToken.None));
            tasks.AddActivityFunc<string, ProviderFile>(nameof(GetFileStatus), (_, id) => functions.GetFileStatusAsync(id, CancellationToken.None));
            tasks.AddActivityFunc<JobRequest, JobSnapshot>(nameof(SubmitJob), (_, request) => functions.SubmitJobAsync(request, CancellationToken.None));
            tasks.AddActivityFunc<string, JobSnapshot>(nameof(GetJob), (_, id) => functions.GetJobAsync(id, CancellationToken.None));
            tasks.AddActivityFunc<string, JobSnapshot>(nameof(CancelJob), (_, id) => functions.CancelJobAsync(id, CancellationToken.None));
            tasks.AddActivityFunc<CollectResultsInput, ResultsSummary>(nameof(CollectResults), (_, input) => functions.CollectResultsAsync(input, CancellationToken.None));
            tasks.AddActivityFunc<RunRow, bool>(nameof(UpdateRun), (_, row) => functions.UpdateRunAsync(row, CancellationToken.None));
            tasks.AddActivityFunc<ModelRow, bool>(nameof(RegisterModel), (_, row) => functions.RegisterModelAsync(row, CancellationToken.None));
        }, new DurableTaskTestHostOptions { Port = AzuriteFixture.FreePort() }); // its default is a random port, free or not
        return new AzureHost(emulator, app, durable);
    }

    public T Get<T>()
        where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>Writes a dataset into a container of its own (tests share Azurite) and returns its blob name.</summary>
    public async Task<string> WriteDatasetAsync(string jsonl)
    {
        string blob = $"{$"datasets-{Guid.NewGuid():N}"[..24]}/support.jsonl";
        await Get<IBlobStore>().WriteAsync(blob, (s, ct) => s.WriteAsync(Encoding.UTF8.GetBytes(jsonl), ct).AsTask());
        return blob;
    }

    public async ValueTask DisposeAsync()
    {
        await Durable.DisposeAsync();
        App.Dispose();
        await Emulator.DisposeAsync();
    }
}

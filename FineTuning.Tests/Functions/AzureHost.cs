using System.Reflection;
using System.Text;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
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

    /// <summary>The emulated Azure OpenAI account a host with <c>deploys</c> deploys to.</summary>
    public const string Account = "/subscriptions/s1/resourceGroups/g1/providers/Microsoft.CognitiveServices/accounts/aoai";

    public static async Task<AzureHost> StartAsync(
        AzuriteFixture azurite,
        FaultPlan? faults = null,
        EmulatorSkill? skill = null,
        bool deploys = false
    )
    {
        EmulatorServer emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Speed = 600,
                Faults = faults ?? new FaultPlan(),
                Skill = skill ?? new EmulatorSkill(),
                // A deployment is live at once: a person's promote looks again after the API's 30 s (runs here poll every second).
                DeploymentSeconds = deploys ? 0 : 120,
            }
        );
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(
            new Dictionary<string, string?>
            {
                ["FineTuning:Storage:Connection"] = azurite.ConnectionString,
                ["FineTuning:Provider:Kind"] = "Emulator",
                ["FineTuning:Provider:Endpoint"] = emulator.OpenAIEndpoint.ToString(),
                ["FineTuning:Provider:ApiKey"] = "test-key",
                // A Retry-After over 2 s is waited for on a durable timer (the default is a minute).
                ["FineTuning:Provider:MaxRetryWait"] = "00:00:02",
            }
        );
        if (deploys)
        {
            builder.Configuration.AddInMemoryCollection(
                new Dictionary<string, string?>
                {
                    ["FineTuning:Deployments:AccountResourceId"] = Account,
                    ["FineTuning:Deployments:ManagementEndpoint"] = emulator.ArmEndpoint.ToString(),
                    ["FineTuning:Deployments:EmulatorKey"] = "test-key",
                }
            );
        }
        builder.AddFineTuning();
        IHost app = builder.Build();
        var functions = ActivatorUtilities.CreateInstance<WorkflowActivityFunctions>(app.Services);
        DurableTaskTestHost durable = await DurableTaskTestHost.StartAsync(
            tasks =>
            {
                var shells = new FunctionShells(tasks, functions);
                foreach (WorkflowOrchestrator orchestrator in WorkflowCatalog.Orchestrators)
                    orchestrator.Accept(shells);
                foreach (WorkflowActivity activity in WorkflowCatalog.Activities)
                    activity.Accept(shells);
            },
            new DurableTaskTestHostOptions { Port = AzuriteFixture.FreePort() }
        ); // its default is a random port, free or not
        return new AzureHost(emulator, app, durable);
    }

    /// <summary>
    /// Registers every catalogue entry with the engine as the Functions host would run it: through the host's own
    /// <c>[Function]</c> shell. Typed, so the engine reads each input as what the function's input asks for (in
    /// Functions the trigger binding does that).
    /// </summary>
    private sealed class FunctionShells(DurableTaskRegistry tasks, WorkflowActivityFunctions functions) : IWorkflowVisitor
    {
        public void Activity<TActivity, TInput, TOutput>(WorkflowActivity activity)
            where TActivity : class, IWorkflowActivity<TInput, TOutput>
        {
            MethodInfo shell = FunctionsShells.Activity(activity.Name);
            tasks.AddActivityFunc<TInput, TOutput>(activity.Name, (_, input) =>
                (Task<TOutput>)shell.Invoke(functions, [input, CancellationToken.None])!
            );
        }

        public void Orchestrator<TInput, TOutput>(WorkflowOrchestrator<TInput, TOutput> orchestrator)
        {
            MethodInfo shell = FunctionsShells.Orchestrator(orchestrator.Name);
            tasks.AddOrchestratorFunc<TInput, TOutput>(orchestrator.Name, (context, _) => (Task<TOutput>)shell.Invoke(null, [context])!);
        }
    }

    /// <summary>The emulated account's deployments, as a host that <c>deploys</c> sees them.</summary>
    public FineTuning.OpenAI.ArmModelDeployments Deployments() =>
        new(
            new FineTuning.OpenAI.DeploymentOptions
            {
                AccountResourceId = Account,
                ManagementEndpoint = Emulator.ArmEndpoint,
                EmulatorKey = "test-key",
            },
            null
        );

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

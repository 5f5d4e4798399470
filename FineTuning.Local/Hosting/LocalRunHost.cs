using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
using FineTuning.Local.Runtime;
using FineTuning.Local.Storage;
using FineTuning.OpenAI;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Local.Hosting;

/// <summary>
/// Everything a local run needs under one data directory: blobs, the runs and models tables, the provider (the built-in
/// emulator unless FineTuning:Provider is configured) and the embedded durable runtime, whose history
/// (<c>durable.db</c>) lets a run stopped with the process resume where it was when any host next starts here.
/// One process owns a data directory at a time (<c>finetune.lock</c>).
/// </summary>
public sealed class LocalRunHost : IAsyncDisposable
{
    /// <summary>The run's orchestrator name in the runtime's history, the same as on Azure.</summary>
    public const string Orchestrator = nameof(FineTuningOrchestrator);

    private readonly EmulatorServer? _emulator;
    private readonly FileStream _lock;

    /// <summary>The Azure OpenAI account's deployments, when the host deploys models (null: nothing to deploy).</summary>
    public IModelDeployments? Deployments { get; }

    private LocalRunHost(
        string root,
        FileStream ownership,
        FileSystemBlobStore blobs,
        SqliteTables tables,
        IFineTuningProvider provider,
        EmulatorServer? emulator,
        DurableRuntimeOptions options,
        EvaluationOptions evaluation,
        IModelDeployments? deployments
    )
    {
        Root = root;
        Deployments = deployments;
        _lock = ownership;
        Blobs = blobs;
        Tables = tables;
        Provider = provider;
        _emulator = emulator;
        Runtime = new DurableRuntime(
            OpenHistory(root),
            LocalWorkflow.Orchestrators,
            LocalWorkflow.Activities(blobs, provider, tables, tables, ModelCatalog.Default, evaluation, deployments),
            options
        );
        Runtime.Ended += state => _ = RecordFailureAsync(state);
        Runtime.CustomStatusChanged += (runId, json) =>
        {
            if (json is not null)
                StatusChanged?.Invoke(runId, LocalJson.Deserialize<RunProgress>(json));
        };
    }

    public string Root { get; }

    public IBlobStore Blobs { get; }

    public SqliteTables Tables { get; }

    public IFineTuningProvider Provider { get; }

    public DurableRuntime Runtime { get; }

    /// <summary>True when jobs run on the built-in emulator.</summary>
    public bool Emulated => _emulator is not null;

    /// <summary>How much faster than real time the built-in emulator runs jobs (<c>FineTuning__Emulator__Speed</c>, default 100).</summary>
    public double EmulatorSpeed { get; private init; }

    /// <summary>What the start rebuilt in finetuning.db from the history, and the runs it found without one.</summary>
    public RepairReport Repaired { get; private set; } = new(0, 0, 0);

    /// <summary>Unfinished runs this host resumed when it started.</summary>
    public int Resumed { get; private set; }

    /// <summary>Raised with a run's id and each custom status it sets.</summary>
    public event Action<string, RunProgress?>? StatusChanged;

    /// <summary>True when a finetune process (run or serve) owns the data directory now.</summary>
    public static bool IsOwned(string root)
    {
        try
        {
            using var probe = new FileStream(Path.Combine(root, "finetune.lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>The history of the runs under a data directory (also opened by <c>finetune cancel</c>, which needs no host).</summary>
    public static HistoryStore OpenHistory(string root) => new(Path.Combine(root, "durable.db"));

    public static Task<LocalRunHost> StartAsync(
        string root,
        IConfiguration configuration,
        DurableRuntimeOptions? runtime = null,
        CancellationToken cancellationToken = default
    ) => StartAsync(root, LocalComposition.Settings(configuration), runtime, cancellationToken);

    /// <summary>
    /// Takes the data directory (or says which process has it), starts the provider (the built-in emulator unless one is
    /// configured) and the runtime, and resumes every unfinished run found there.
    /// </summary>
    public static async Task<LocalRunHost> StartAsync(
        string root,
        LocalSettings settings,
        DurableRuntimeOptions? runtime = null,
        CancellationToken cancellationToken = default
    )
    {
        Directory.CreateDirectory(root);
        FileStream ownership;
        try
        {
            ownership = new FileStream(Path.Combine(root, "finetune.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new IOException(
                $"Another finetune process (run or serve) is using the data directory {root}. Follow its runs with 'finetune runs --data "
                    + $"{root}', "
                    + "send runs to its HTTP API, wait for it to end, or pass another --data."
            );
        }

        try
        {
            LocalRepair.CheckDatabases(root);
            ProviderOptions options = settings.Provider;
            EmulatorServer? emulator = null;
            if (options.Kind == ProviderKind.Emulator && options.Endpoint is null)
            {
                emulator = await EmulatorServer
                    .StartAsync(
                        new EmulatorOptions
                        {
                            Speed = settings.Emulator.Speed,
                            StateDirectory = Path.Combine(root, "emulator"),
                            Skill = new EmulatorSkill { Base = settings.Emulator.BaseSkill, FineTuned = settings.Emulator.FineTunedSkill },
                        },
                        cancellationToken: cancellationToken
                    )
                    .ConfigureAwait(false);
                options = new ProviderOptions
                {
                    Kind = ProviderKind.Emulator,
                    Endpoint = emulator.OpenAIEndpoint,
                    ApiKey = "local",
                };
            }

            var blobs = new FileSystemBlobStore(Path.Combine(root, "blobs"));
            blobs.RemoveAbandonedWrites();
            var host = new LocalRunHost(
                root,
                ownership,
                blobs,
                new SqliteTables(Path.Combine(root, "finetuning.db")),
                OpenAIFineTuningProvider.Create(options),
                emulator,
                runtime
                    ?? settings.Diagnostics.Apply(
                        new DurableRuntimeOptions { MaxConcurrentActivities = settings.Runtime.MaxConcurrentActivities }
                    ),
                settings.Evaluation,
                ResourceManager(settings.Deployments, emulator)
            )
            {
                EmulatorSpeed = emulator is null ? 1 : settings.Emulator.Speed,
            };
            host.Repaired = await LocalRepair.RepairAsync(host.Runtime.Store, host.Tables, DateTime.UtcNow).ConfigureAwait(false);
            host.Resumed = host.Runtime.Start().Count(i => i.Name != JobMonitor.Name);
            return host;
        }
        catch
        {
            await ownership.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The account's deployments through Resource Manager, when an account is configured: Azure's with the machine's Entra
    /// ID credential, or with the built-in emulator, the emulator's (so the deploy can be tried without an account).
    /// </summary>
    private static ArmModelDeployments? ResourceManager(DeploymentOptions options, EmulatorServer? emulator)
    {
        if (options.AccountResourceId is null)
            return null;
        if (emulator is not null)
        {
            options = new DeploymentOptions
            {
                AccountResourceId = options.AccountResourceId,
                Sku = options.Sku,
                Capacity = options.Capacity,
                ManagementEndpoint = emulator.ArmEndpoint,
                EmulatorKey = "local",
            };
        }

        return new ArmModelDeployments(options, options.EmulatorKey is null ? new Azure.Identity.DefaultAzureCredential() : null);
    }

    /// <summary>Starts a run (or finds the one the same input already started); problems by field when the request is wrong.</summary>
    public async Task<(string? RunId, IReadOnlyDictionary<string, string[]> Problems)> StartRunAsync(
        RunRequest request,
        CancellationToken cancellationToken = default
    )
    {
        IReadOnlyDictionary<string, string[]> problems = request.Problems();
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        request = ForThisHost(request);
        for (int tries = 0; ; tries++)
        {
            if (
                await RunApi
                    .ChooseAttemptAsync(Blobs, request, (runId, _) => Task.FromResult(StateOf(runId)), cancellationToken)
                    .ConfigureAwait(false)
                is not { } chosen
            )
            {
                return (
                    null,
                    new Dictionary<string, string[]>
                    {
                        ["datasetBlob"] =
                        [
                            $"'{request.DatasetBlob}' does not exist: copy the file into the data directory's blobs/{request.DatasetBlob} "
                                + "first",
                        ],
                    }
                );
            }

            // Scheduling fails only when another start took the id a moment ago: look again.
            if (!chosen.Start || Runtime.ScheduleNew(Orchestrator, chosen.RunId, chosen.Request) || tries == 3)
            {
                return (chosen.RunId, problems);
            }
        }
    }

    private RunApi.AttemptState StateOf(string runId) =>
        Runtime.IsRunningHere(runId)
            ? RunApi.AttemptState.InProgress
            : Runtime.Get(runId) switch
            {
                null => RunApi.AttemptState.Absent,
                { Status: InstanceStatus.Running } => RunApi.AttemptState.InProgress,
                { } ended => OutcomeOf(ended).Status == RunStatus.Succeeded ? RunApi.AttemptState.Succeeded : RunApi.AttemptState.Ended,
            };

    /// <summary>
    /// How often this host looks at a job or a deployment when nobody says: on the built-in emulator (100 times faster
    /// than real time) 1 second, as the default 30 seconds there would be 50 minutes of a real job.
    /// </summary>
    private TimeSpan DefaultPollInterval => Emulated ? TimeSpan.FromSeconds(1) : RunRequest.DefaultPollInterval;

    /// <summary>The request as this host runs it: the default poll interval becomes this host's.</summary>
    public RunRequest ForThisHost(RunRequest request) =>
        request.PollInterval == RunRequest.DefaultPollInterval ? request with { PollInterval = DefaultPollInterval } : request;

    /// <summary>
    /// A person's change of a model's stage (<see cref="RunApi.ModelActions"/>): done at once, or, for a promote on an
    /// account that deploys, a <see cref="ModelPromotion"/> started here (one per model and stage; asked again while it
    /// runs, the same one) whose instance id is returned.
    /// </summary>
    public async Task<(ModelRow? Model, ApiProblem? Problem, PromotionRequest? Deploy, string? Promotion)> ChangeModelStageAsync(
        ModelStageInput change,
        CancellationToken cancellationToken = default
    )
    {
        (ModelRow? model, ApiProblem? problem, PromotionRequest? deploy) = await ModelRegistryChanges
            .ChangeStageOnRequestAsync(Tables, Deployments, change, DefaultPollInterval, cancellationToken)
            .ConfigureAwait(false);
        if (deploy is null)
            return (model, problem, null, null);
        string promotion = ModelPromotion.InstanceId(model!);
        Runtime.ScheduleNew(ModelPromotion.Name, promotion, deploy);
        return (model, null, deploy, promotion);
    }

    /// <summary>The outcome of a promotion started here, once it ends.</summary>
    public async Task<PromotionOutcome> PromotionOutcomeAsync(string promotion, CancellationToken cancellationToken = default) =>
        await Runtime.WaitForCompletionAsync(promotion, cancellationToken).ConfigureAwait(false)
            is { Status: InstanceStatus.Completed, Output: { } output }
            ? LocalJson.Deserialize<PromotionOutcome>(output)!
            : new PromotionOutcome(false, "", null, Runtime.Get(promotion)?.Failure ?? "The promotion's orchestration failed.");

    /// <summary>The outcome of a run in progress in this process, or null when it is not running here.</summary>
    public Task<RunOutcome>? Outcome(string runId) => Runtime.IsRunningHere(runId) ? OutcomeAsync(runId) : null;

    private async Task<RunOutcome> OutcomeAsync(string runId) =>
        OutcomeOf(
            await Runtime.WaitForCompletionAsync(runId).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Run {runId} is not running here.")
        );

    private static RunOutcome OutcomeOf(InstanceState state) =>
        state is { Status: InstanceStatus.Completed, Output: { } output }
            ? LocalJson.Deserialize<RunOutcome>(output)!
            : new RunOutcome(RunStatus.Failed, null, state.Failure ?? "The orchestration failed.");

    /// <summary>
    /// A run whose orchestration itself failed (an activity out of retries, a replay that no longer matches the code)
    /// could not say so in its row: the row is made to say so here, whether or not anyone follows the run.
    /// </summary>
    private async Task RecordFailureAsync(InstanceState state)
    {
        if (
            state.Name != JobMonitor.Name
            && state.Status == InstanceStatus.Failed
            && await ((IRunStore)Tables).GetAsync(state.InstanceId).ConfigureAwait(false) is { } row
        )
        {
            await ((IRunStore)Tables)
                .UpsertAsync(
                    row with
                    {
                        Status = RunStatus.Failed,
                        Error = state.Failure,
                        UpdatedAt = state.UpdatedAt,
                        FinishedAt = state.UpdatedAt,
                    }
                )
                .ConfigureAwait(false);
        }
    }

    /// <summary>A run's latest custom status (the job monitor's while it follows the job), or null when there is none.</summary>
    public static RunProgress? Progress(HistoryStore history, string runId)
    {
        string? json = history.Get(JobMonitor.InstanceIdFor(runId)) is { Status: InstanceStatus.Running, CustomStatus: { } monitor }
            ? monitor
            : history.Get(runId)?.CustomStatus;
        return json is null ? null : LocalJson.Deserialize<RunProgress>(json);
    }

    /// <summary>Asks a run to cancel, pause or resume (<see cref="RunApi.Controls"/>); null when asked, else why not.</summary>
    public Task<ApiProblem?> ControlAsync(
        string runId,
        string control,
        Decision? decision = null,
        CancellationToken cancellationToken = default
    ) => RequestControlAsync(Runtime.Store, Tables, runId, control, Runtime.Time, decision, cancellationToken);

    /// <summary>
    /// Asks a run to cancel, pause or resume through the history's inbox: whichever process owns the data directory
    /// delivers it, now or when it next starts. Null when asked; else a 404 or 409 problem that says why not.
    /// </summary>
    public static async Task<ApiProblem?> RequestControlAsync(
        HistoryStore history,
        IRunStore runs,
        string runId,
        string control,
        TimeProvider time,
        Decision? decision = null,
        CancellationToken cancellationToken = default
    )
    {
        bool inProgress = history.Get(runId) is { Status: InstanceStatus.Running };
        RunRow? row = await runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        if (RunApi.ControlProblem(runId, row, inProgress, control) is { } problem)
        {
            return problem;
        }

        if (!inProgress)
        {
            return ApiProblem.Conflict($"Run '{runId}' is not in progress: its history in durable.db has ended or is missing.");
        }

        string payload = RunApi.IsDecision(control) ? LocalJson.Serialize(decision ?? new Decision()) : "true";
        history.Raise(runId, RunApi.Controls[control], payload, time.GetUtcNow().UtcDateTime);
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync().ConfigureAwait(false);
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync().ConfigureAwait(false);
        }

        await _lock.DisposeAsync().ConfigureAwait(false);
    }
}

using System.Collections.Concurrent;
using FineTuning.Core.Catalog;
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
/// emulator unless FineTuning:Provider is configured) and the runs in progress, each an orchestration in this process.
/// </summary>
public sealed class LocalRunHost : IAsyncDisposable
{
    private readonly EmulatorServer? _emulator;
    private readonly IReadOnlyDictionary<string, ActivityFunction> _activities;
    private readonly ConcurrentDictionary<string, (InProcessOrchestrationContext Context, Task<RunOutcome> Run)> _running = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    private LocalRunHost(string root, FileSystemBlobStore blobs, SqliteTables tables, IFineTuningProvider provider, EmulatorServer? emulator)
    {
        Root = root;
        Blobs = blobs;
        Tables = tables;
        Provider = provider;
        _emulator = emulator;
        _activities = WorkflowActivities.Create(blobs, provider, tables, tables, ModelCatalog.Default);
    }

    public string Root { get; }

    public IBlobStore Blobs { get; }

    public SqliteTables Tables { get; }

    public IFineTuningProvider Provider { get; }

    /// <summary>True when jobs run on the built-in emulator.</summary>
    public bool Emulated => _emulator is not null;

    /// <summary>Raised with a run's id and each custom status it sets.</summary>
    public event Action<string, object?>? StatusChanged;

    public static async Task<LocalRunHost> StartAsync(string root, IConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var options = configuration.GetSection(ProviderOptions.Section).Get<ProviderOptions>() ?? new ProviderOptions();
        EmulatorServer? emulator = null;
        if (options.Kind == ProviderKind.Emulator && options.Endpoint is null)
        {
            emulator = await EmulatorServer.StartAsync(new EmulatorOptions { Speed = 100, StateDirectory = Path.Combine(root, "emulator") }, cancellationToken: cancellationToken).ConfigureAwait(false);
            options = new ProviderOptions { Kind = ProviderKind.Emulator, Endpoint = emulator.OpenAIEndpoint, ApiKey = "local" };
        }

        return new LocalRunHost(root, new FileSystemBlobStore(Path.Combine(root, "blobs")), new SqliteTables(Path.Combine(root, "finetuning.db")),
            OpenAIFineTuningProvider.Create(options), emulator);
    }

    /// <summary>Starts a run (or finds the one the same input already started); problems by field when the request is wrong.</summary>
    public async Task<(string? RunId, IReadOnlyDictionary<string, string[]> Problems)> StartRunAsync(RunRequest request, CancellationToken cancellationToken = default)
    {
        IReadOnlyDictionary<string, string[]> problems = request.Problems();
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        if (await FineTuningOrchestrator.RunIdForAsync(Blobs, request, cancellationToken).ConfigureAwait(false) is not { } runId)
        {
            return (null, new Dictionary<string, string[]> { ["datasetBlob"] = [$"'{request.DatasetBlob}' does not exist under {Path.Combine(Root, "blobs")}"] });
        }

        if (_running.ContainsKey(runId) || await ((IRunStore)Tables).GetAsync(runId, cancellationToken).ConfigureAwait(false) is { Status: RunStatus.Succeeded })
        {
            return (runId, problems);
        }

        var context = new InProcessOrchestrationContext(runId, _activities, TimeProvider.System, _stopping.Token);
        context.StatusChanged += status => StatusChanged?.Invoke(runId, status);
        _running[runId] = (context, Task.Run(() => FineTuningOrchestrator.RunAsync(context, request), CancellationToken.None));
        return (runId, problems);
    }

    /// <summary>The outcome of a run started here, or null when it is not running in this process.</summary>
    public Task<RunOutcome>? Outcome(string runId) => _running.TryGetValue(runId, out var run) ? run.Run : null;

    /// <summary>Raises the cancel event of a run in progress; false when it is not running here.</summary>
    public bool Cancel(string runId)
    {
        if (!_running.TryGetValue(runId, out var run) || run.Run.IsCompleted)
        {
            return false;
        }

        run.Context.Raise(FineTuningOrchestrator.CancelEvent, true);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach ((_, Task<RunOutcome> run) in _running.Values)
        {
            try
            {
                await run.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (_emulator is not null)
        {
            await _emulator.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }
}

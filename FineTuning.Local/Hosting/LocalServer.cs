using FineTuning.Core.Workflow;
using FineTuning.Local.Cli;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FineTuning.Local.Hosting;

/// <summary>What <c>finetune serve</c> was asked to serve: the data directory, where to listen, and the folder drop.</summary>
public sealed record ServeOptions(string Root, string Address, int Port, string? ApiKey, bool FolderDrop);

/// <summary>
/// <c>finetune serve</c> as a generic host: <see cref="LocalComposition.AddFineTuningLocal"/> binds and validates the
/// settings, then this service starts the run host (data directory, provider, runtime), the HTTP API and the folder
/// drop, in that order, and stops them in reverse. Everything it says goes through the host's logging.
/// </summary>
public sealed class LocalServer(ServeOptions serve, IServiceProvider services, ILoggerFactory logging) : IHostedService, IAsyncDisposable
{
    private LocalRunHost? _host;
    private LocalApi? _api;
    private FolderDrop? _drop;

    /// <summary>The HTTP API once started.</summary>
    public LocalApi? Api => _api;

    /// <summary>The generic host of <c>finetune serve</c>: environment settings, log lines to <paramref name="output"/>.</summary>
    public static IHost Build(ServeOptions serve, TextWriter output, IConfiguration? configuration = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddConfiguration(configuration ?? new ConfigurationBuilder().AddEnvironmentVariables().Build());
        builder.Logging.AddProvider(new ConsoleLines(output));
        // The host's own start and stop lines say nothing a user needs; a failure to start is said once, by the command.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddFineTuningLocal(builder.Configuration);
        builder.Services.AddSingleton(serve);
        builder.Services.AddSingleton<LocalServer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<LocalServer>());
        return builder.Build();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ILogger log = logging.CreateLogger("FineTuning.Serve");
        try
        {
            // Resolved here, not in the constructor: the host validates every settings group first, and says all that is wrong.
            LocalSettings settings = services.GetRequiredService<LocalSettings>();
            _host = await LocalRunHost.StartAsync(serve.Root, settings, cancellationToken: cancellationToken).ConfigureAwait(false);
            HostStart.Describe(_host, log);
            // The orchestrators' own log (stages, job status, how each run ended), from live steps only: a line per event,
            // not per replay.
            ILogger workflow = logging.CreateLogger(WorkflowLog.Category);
            _host.Runtime.Logged += (_, entry) => workflow.Write(entry);
            _api = await LocalApi.StartAsync(_host, serve.Address, serve.Port, serve.ApiKey, cancellationToken).ConfigureAwait(false);
            _drop = new FolderDrop(_host, logging.CreateLogger<FolderDrop>());
            if (serve.FolderDrop)
            {
                _drop.Start();
            }
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }

        string drop = serve.FolderDrop ? $"drop .jsonl files into {_drop.Folder}" : "no folder drop";
        Logs.Listening(log, _api.Root, serve.Root, drop);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (_drop is not null)
        {
            await _drop.DisposeAsync().ConfigureAwait(false);
            _drop = null;
        }

        if (_api is not null)
        {
            await _api.DisposeAsync().ConfigureAwait(false);
            _api = null;
        }

        if (_host is not null)
        {
            await _host.DisposeAsync().ConfigureAwait(false);
            _host = null;
        }
    }
}

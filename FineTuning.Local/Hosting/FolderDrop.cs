using FineTuning.Core.Api;
using FineTuning.Core.Storage;
using FineTuning.Core.Workflow;
using FineTuning.Local.Storage;
using Microsoft.Extensions.Logging;

namespace FineTuning.Local.Hosting;

/// <summary>
/// The local blob trigger: a <c>.jsonl</c> written into <c>&lt;data&gt;/blobs/datasets/</c> starts a run with the
/// default options, or those of its sidecar (<c>support.run.json</c> or <c>support.jsonl.run.json</c>). A file is read
/// only once it (and its sidecar) stopped changing for <see cref="SettleTime"/>, so a copy in progress is never read
/// half-done; a drop with the same content and options as an earlier one starts nothing (a ledger in finetuning.db)
/// unless that run failed or was cancelled: then it is tried again.
/// Files that <c>finetune run</c> copied there itself are left alone.
/// </summary>
public sealed class FolderDrop : IAsyncDisposable
{
    private readonly LocalRunHost _host;
    private readonly ILogger _log;
    private readonly string _folder;
    private readonly Dictionary<string, (string Stamp, DateTimeOffset Since)> _changing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _handled = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);
    private FileSystemWatcher? _watcher;
    private Task? _loop;

    public FolderDrop(LocalRunHost host, ILogger log, TimeSpan? settleTime = null, TimeSpan? scanInterval = null)
    {
        _host = host;
        _log = log;
        _folder = Path.Combine(host.Root, "blobs", "datasets");
        SettleTime = settleTime ?? TimeSpan.FromSeconds(2);
        ScanInterval = scanInterval ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>How long a file must stay unchanged (size and time written) before it is read.</summary>
    public TimeSpan SettleTime { get; }

    /// <summary>How often the folder is scanned (a file-system watcher also wakes the scan early).</summary>
    public TimeSpan ScanInterval { get; }

    /// <summary>The folder watched.</summary>
    public string Folder => _folder;

    /// <summary>Raised with each run a drop started.</summary>
    public event Action<string, string>? RunStarted;

    public void Start()
    {
        Directory.CreateDirectory(_folder);
        _watcher = new FileSystemWatcher(_folder) { IncludeSubdirectories = false, EnableRaisingEvents = true };
        _watcher.Created += (_, _) => _wake.Release();
        _watcher.Changed += (_, _) => _wake.Release();
        _watcher.Renamed += (_, _) => _wake.Release();
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(_stopping.Token).ConfigureAwait(false);
                await _wake.WaitAsync(ScanInterval, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Logs.DropScanFailed(_log, ex.Message);
                await Task.Delay(ScanInterval, _stopping.Token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One look at the folder: starts a run for each settled, new drop.</summary>
    public async Task ScanAsync(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_folder))
        {
            return;
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        foreach (string path in Directory.EnumerateFiles(_folder, "*.jsonl").Order(StringComparer.Ordinal))
        {
            string file = Path.GetFileName(path);
            if (file.StartsWith('.'))
            {
                continue;
            }

            string blob = "datasets/" + file;
            string stamp =
                Stamp(path)
                + string.Concat(RunApi.SidecarBlobs(blob).Select(s => "|" + Stamp(Path.Combine(_folder, s["datasets/".Length..]))));
            if (_handled.TryGetValue(file, out string? handled) && handled == stamp)
            {
                continue;
            }

            if (!_changing.TryGetValue(file, out var seen) || seen.Stamp != stamp)
            {
                _changing[file] = (stamp, now);
                continue;
            }

            if (now - seen.Since < SettleTime)
            {
                continue;
            }

            _changing.Remove(file);
            _handled[file] = stamp;
            await StartAsync(path, blob, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task StartAsync(string path, string blob, CancellationToken cancellationToken)
    {
        if (BlobNames.Problem(blob) is { } nameProblem)
        {
            Logs.DropBadName(_log, path, nameProblem);
            return;
        }

        string content = await FileHash.Sha256Async(path, cancellationToken).ConfigureAwait(false);
        BlobProperties? properties = await _host.Blobs.GetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false);
        if (DatasetApi.StartsNoRun(properties, content))
        {
            return;
        }

        string options = "";
        foreach (string sidecar in RunApi.SidecarBlobs(blob))
        {
            string sidecarPath = Path.Combine(_folder, sidecar["datasets/".Length..]);
            if (File.Exists(sidecarPath))
            {
                options = await FileHash.Sha256Async(sidecarPath, cancellationToken).ConfigureAwait(false);
                break;
            }
        }

        string key = $"{content}:{options}";
        if (
            await _host.Tables.FindDropAsync(key, cancellationToken).ConfigureAwait(false) is { } earlier
            && await ((IRunStore)_host.Tables).GetAsync(earlier, cancellationToken).ConfigureAwait(false)
                is not { Status: RunStatus.Failed or RunStatus.Cancelled }
        )
        {
            Logs.DropRepeated(_log, blob, earlier);
            return;
        }

        (RunRequest? request, IReadOnlyDictionary<string, string[]> problems) = await RunApi
            .DropRequestAsync(_host.Blobs, blob, cancellationToken)
            .ConfigureAwait(false);
        string? runId = null;
        if (request is not null)
        {
            (runId, problems) = await _host.StartRunAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (runId is null)
        {
            Logs.DropInvalidOptions(_log, blob, string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(", ", p.Value)}")));
            return;
        }

        await _host.Tables.RecordDropAsync(key, blob, runId, DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
        Logs.DropStarted(_log, blob, runId);
        RunStarted?.Invoke(blob, runId);
    }

    private static string Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? $"{info.Length}@{info.LastWriteTimeUtc.Ticks}" : "-";
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _watcher?.Dispose();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stopping.Dispose();
        _wake.Dispose();
    }
}

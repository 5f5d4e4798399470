using System.CommandLine;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Logging;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune serve</c>: the HTTP API on this machine until Ctrl+C.</summary>
internal static class ServeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var port = new Option<int>("--port") { Description = "Port (0 picks a free one).", DefaultValueFactory = _ => 7071 };
        var data = new Option<DirectoryInfo>("--data")
        {
            Description = "Data directory (blobs, finetuning.db, emulator state).",
            DefaultValueFactory = _ => new DirectoryInfo(".finetuning"),
        };
        var address = new Option<string>("--address")
        {
            Description = "Address to bind; anything but loopback requires --api-key.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var key = new Option<string?>("--api-key")
        {
            Description = "Key clients send as x-functions-key (or ?code=), as with Azure function keys.",
        };
        var noDrop = new Option<bool>("--no-drop")
        {
            Description = "Do not start runs for .jsonl files dropped into <data>/blobs/datasets/.",
        };
        var command = new Command(
            "serve",
            "Serve the HTTP API (runs, reports, models, validate, estimate; OpenAPI at /openapi/v1.json) over the data directory, and "
                + "start a run for each .jsonl dropped into <data>/blobs/datasets/ (options from a sidecar support.run.json)."
        )
        {
            port,
            data,
            address,
            key,
            noDrop,
        };
        command.SetAction(
            async (result, cancellationToken) =>
            {
                string root = result.GetValue(data)!.FullName;
                if (await HostStart.TryStartAsync(root, stdout, stderr, cancellationToken) is not { } host)
                {
                    return FinetuneCli.ExitUsage;
                }

                await using LocalRunHost owned = host;
                using ILoggerFactory logging = ConsoleLines.Factory(stdout);
                // The orchestrators' own log (stages, job status, how each run ended), from live steps only: a line per
                // event, not per replay.
                ILogger workflow = logging.CreateLogger(WorkflowLog.Category);
                host.Runtime.Logged += (_, entry) => workflow.Write(entry);
                LocalApi api;
                try
                {
                    api = await LocalApi.StartAsync(
                        host,
                        result.GetValue(address)!,
                        result.GetValue(port),
                        result.GetValue(key),
                        cancellationToken
                    );
                }
                catch (Exception ex) when (ex is ArgumentException or IOException)
                {
                    await stderr.WriteLineAsync($"error: {ex.Message}");
                    return FinetuneCli.ExitUsage;
                }

                await using FolderDrop drop = new(host, logging.CreateLogger<FolderDrop>());
                if (!result.GetValue(noDrop))
                {
                    drop.Start();
                }

                await using (api)
                {
                    await stdout.WriteLineAsync(
                        $"FineTuning API listening on {api.Root}api/runs (OpenAPI: {api.Root}openapi/v1.json); data in "
                            + $"{root}{(result.GetValue(noDrop) ? "" : $"; drop .jsonl files into {drop.Folder}")}. Ctrl+C stops."
                    );
                    await stdout.FlushAsync(cancellationToken);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken);
                    }
                    catch (OperationCanceledException) { }
                }

                return FinetuneCli.ExitOk;
            }
        );
        return command;
    }
}

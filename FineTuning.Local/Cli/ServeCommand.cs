using System.CommandLine;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Hosting;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune serve</c>: the HTTP API on this machine until Ctrl+C.</summary>
internal static class ServeCommand
{
    /// <summary>Why the host could not start when it is the user's to fix: the data directory taken, the address.</summary>
    private static string? UsageProblem(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException ? ex.Message : null;

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
                var serve = new ServeOptions(
                    result.GetValue(data)!.FullName,
                    result.GetValue(address)!,
                    result.GetValue(port),
                    result.GetValue(key),
                    FolderDrop: !result.GetValue(noDrop)
                );
                using IHost app = LocalServer.Build(serve, stdout);
                try
                {
                    await app.StartAsync(cancellationToken);
                }
                catch (Exception ex) when ((LocalComposition.Problems(ex) ?? UsageProblem(ex)) is { } problem)
                {
                    await stderr.WriteLineAsync($"error: {problem}");
                    return FinetuneCli.ExitUsage;
                }

                await stdout.FlushAsync(cancellationToken);
                try
                {
                    await app.WaitForShutdownAsync(cancellationToken);
                }
                catch (OperationCanceledException) { }

                await app.StopAsync(CancellationToken.None);
                return FinetuneCli.ExitOk;
            }
        );
        return command;
    }
}

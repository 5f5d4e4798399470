using System.CommandLine;
using FineTuning.Emulator;

namespace FineTuning.Local.Cli;

/// <summary><c>finetune emulator</c>: the local fine-tuning service, standalone, until Ctrl+C.</summary>
internal static class EmulatorCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (0 picks a free one).", DefaultValueFactory = _ => 8089 };
        var key = new Option<string?>("--api-key")
        {
            Description = "The key clients must send as 'Authorization: Bearer KEY' or 'api-key: KEY' (default: any non-empty key).",
        };
        var speed = new Option<double>("--speed")
        {
            Description = "Simulated seconds per real second; at 10 a small job takes about 26 s.",
            DefaultValueFactory = _ => 10,
        };
        var faults = new Option<string[]>("--fault")
        {
            Description = $"Fault for the next matching request, in order (repeat the option for more): {Fault.Syntax}.",
            AllowMultipleArgumentsPerToken = false,
        };
        faults.Validators.Add(r =>
        {
            foreach (string spec in r.GetValueOrDefault<string[]>() ?? [])
            {
                try
                {
                    Fault.Parse(spec);
                }
                catch (FormatException ex)
                {
                    r.AddError(ex.Message);
                }
            }
        });
        var jobFaults = new Option<JobFault[]>("--job-fault")
        {
            Description =
                "What happens to the next job created, in order (repeat for more): Fail (fails while running) or StallInQueue (stays "
                + "queued).",
        };
        var stateDir = new Option<DirectoryInfo?>("--state")
        {
            Description = "Folder for a snapshot of files and jobs, so a restarted emulator carries on (default: memory only).",
        };
        port.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 65535)
                r.AddError("--port must be between 0 and 65535.");
        });
        speed.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (double.IsNaN(v) || v <= 0 || v > 1_000_000)
                r.AddError("--speed must be above 0 (and at most 1,000,000).");
        });
        var command = new Command(
            "emulator",
            "Run a local server that speaks the OpenAI fine-tuning protocol (files, jobs, events, checkpoints, results) under /v1/ and, "
                + "as Azure serves it, /openai/v1/."
        );
        command.Options.Add(port);
        command.Options.Add(key);
        command.Options.Add(speed);
        command.Options.Add(stateDir);
        command.Options.Add(faults);
        command.Options.Add(jobFaults);
        command.SetAction(
            async (result, cancellationToken) =>
            {
                var plan = new FaultPlan();
                foreach (string spec in result.GetValue(faults) ?? [])
                {
                    plan.Add(Fault.Parse(spec));
                }

                foreach (JobFault jobFault in result.GetValue(jobFaults) ?? [])
                {
                    plan.Add(jobFault);
                }

                EmulatorServer server;
                try
                {
                    server = await EmulatorServer.StartAsync(
                        new EmulatorOptions
                        {
                            ApiKey = result.GetValue(key),
                            Speed = result.GetValue(speed),
                            StateDirectory = CreateFolder(result.GetValue(stateDir)),
                            Faults = plan,
                        },
                        result.GetValue(port),
                        cancellationToken
                    );
                }
                catch (IOException ex)
                {
                    await stderr.WriteLineAsync($"error: cannot listen on 127.0.0.1:{result.GetValue(port)}: {ex.Message}");
                    return FinetuneCli.ExitUsage;
                }

                await using (server)
                {
                    await stdout.WriteLineAsync(
                        $"Fine-tuning emulator listening on {server.OpenAIEndpoint} (OpenAI layout) and {server.AzureEndpoint} (Azure "
                            + "layout)."
                    );
                    await stdout.WriteLineAsync(
                        result.GetValue(key) is null
                            ? "Any non-empty API key is accepted. Press Ctrl+C to stop."
                            : "Clients must send the API key given. Press Ctrl+C to stop."
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

    private static string? CreateFolder(DirectoryInfo? dir)
    {
        dir?.Create();
        return dir?.FullName;
    }
}

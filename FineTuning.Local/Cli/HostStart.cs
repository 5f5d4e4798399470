using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Local.Cli;

/// <summary>
/// Starts the local host for <c>finetune run</c> and <c>finetune serve</c>, saying what it did (emulator, resumed runs)
/// or why it could not.
/// </summary>
internal static class HostStart
{
    public static async Task<LocalRunHost?> TryStartAsync(
        string root,
        TextWriter stdout,
        TextWriter stderr,
        CancellationToken cancellationToken
    )
    {
        LocalRunHost host;
        try
        {
            host = await LocalRunHost.StartAsync(
                root,
                new ConfigurationBuilder().AddEnvironmentVariables().Build(),
                cancellationToken: cancellationToken
            );
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}");
            return null;
        }

        if (host.Emulated)
        {
            await stdout.WriteLineAsync(
                $"No provider is configured (FineTuning__Provider__Kind): jobs run on the built-in emulator, {host.EmulatorSpeed:0.#}x "
                    + "faster than real time."
            );
        }

        if (host.Resumed > 0)
        {
            await stdout.WriteLineAsync(
                $"Resumed {host.Resumed} unfinished "
                    + $"run{(host.Resumed == 1 ? "" : "s")} from {root} where {(host.Resumed == 1 ? "it" : "they")} stopped."
            );
        }

        return host;
    }
}

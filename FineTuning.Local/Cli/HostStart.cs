using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace FineTuning.Local.Cli;

/// <summary>
/// Starts the local host for <c>finetune run</c>, saying what it did (emulator, resumed runs) through the log, or on
/// stderr why it could not.
/// </summary>
internal static class HostStart
{
    public static async Task<LocalRunHost?> TryStartAsync(string root, ILogger log, TextWriter stderr, CancellationToken cancellationToken)
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

        Describe(host, log);
        return host;
    }

    /// <summary>Says that jobs run on the built-in emulator, and which unfinished runs were resumed, when so.</summary>
    public static void Describe(LocalRunHost host, ILogger log)
    {
        if (host.Emulated)
        {
            Logs.Emulated(log, host.EmulatorSpeed);
        }

        if (host.Repaired.Changed)
        {
            Logs.Repaired(log, host.Repaired);
        }

        if (host.Resumed > 0)
        {
            Logs.Resumed(log, host.Resumed, host.Root);
        }
    }
}

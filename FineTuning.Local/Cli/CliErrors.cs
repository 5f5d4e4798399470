using FineTuning.Core.Datasets;

namespace FineTuning.Local.Cli;

/// <summary>Turns I/O problems into one clear line on stderr and exit code 2, never a stack trace.</summary>
internal static class CliErrors
{
    public static int Guard(TextWriter stderr, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (DatasetFileException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine("cancelled");
        }
        catch (IOException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
        }

        return FinetuneCli.ExitUsage;
    }

    /// <summary>True when the data directory's databases are sound; else false, with what to do on stderr.</summary>
    public static bool DatabasesSound(string root, TextWriter stderr)
    {
        try
        {
            Hosting.LocalRepair.CheckDatabases(root);
            return true;
        }
        catch (InvalidOperationException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return false;
        }
    }
}

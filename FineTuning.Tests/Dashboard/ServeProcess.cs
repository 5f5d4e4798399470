using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FineTuning.Tests.Dashboard;

/// <summary>
/// A real <c>finetune serve</c> process (the built binary, on the built-in emulator at the given speed), and the dashboard
/// address it prints. Disposing kills it.
/// </summary>
internal sealed partial class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _errors;

    private ServeProcess(Process process, Uri root)
    {
        _process = process;
        Root = root;
        _errors = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The dashboard's address, as <c>serve</c> printed it.</summary>
    public Uri Root { get; }

    public static async Task<ServeProcess> StartAsync(string data, double emulatorSpeed, string? apiKey = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "finetune.dll"), "serve", "--data", data, "--port", "0"])
            start.ArgumentList.Add(arg);
        if (apiKey is not null)
        {
            start.ArgumentList.Add("--api-key");
            start.ArgumentList.Add(apiKey);
        }
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("FineTuning__", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["FineTuning__Emulator__Speed"] = emulatorSpeed.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Process process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                seen.Add(line);
                if (DashboardLine().Match(line) is { Success: true } match)
                {
                    // The rest of its output (the workflow's lines) is read and dropped, so it never blocks on a full pipe.
                    _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                    return new ServeProcess(process, new Uri(match.Groups[1].Value));
                }
            }
        }
        catch (OperationCanceledException) { }

        process.Kill(entireProcessTree: true);
        string errors = await process.StandardError.ReadToEndAsync();
        throw new InvalidOperationException($"finetune serve printed no dashboard address:\n{string.Join('\n', seen)}\n{errors}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        await _errors;
        _process.Dispose();
    }

    [GeneratedRegex(@"dashboard: open (http://\S+/) in a browser")]
    private static partial Regex DashboardLine();
}

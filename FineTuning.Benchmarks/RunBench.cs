using System.Diagnostics;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Benchmarks;

/// <summary>
/// A whole run, as <c>finetune run FILE</c> does it on the built-in emulator (in this process, as the command runs it):
/// the copy into the data directory, then each stage's time from the orchestrator's own stage events, the total, and
/// the process's peak memory.
/// </summary>
public static class RunBench
{
    public static async Task<int> RunAsync(string file)
    {
        string path = Path.GetFullPath(file);
        double mib = new FileInfo(path).Length / 1048576.0;
        string work = Path.Combine(Path.GetTempPath(), "finetune-bench-run-" + Environment.ProcessId);
        try
        {
            SideBySide.WarmCache(path);
            Console.WriteLine($"file: {Path.GetFileName(path)}, {mib:N1} MiB, {Environment.ProcessorCount} cores, built-in emulator");
            var total = Stopwatch.StartNew();
            await using LocalRunHost host = await LocalRunHost.StartAsync(work, new ConfigurationBuilder().Build());
            await host.Blobs.WriteAsync("datasets/bench.jsonl", async (target, ct) =>
            {
                await using FileStream source = File.OpenRead(path);
                await source.CopyToAsync(target, ct);
            });
            var stages = new List<(string Stage, TimeSpan At)> { ("copy into the data directory", TimeSpan.Zero) };
            host.Runtime.Logged += (_, entry) =>
            {
                if (entry is StageEntered entered)
                {
                    lock (stages)
                        stages.Add((entered.Stage, total.Elapsed));
                }
            };

            (string? runId, IReadOnlyDictionary<string, string[]> problems) = await host.StartRunAsync(
                host.ForThisHost(new RunRequest { DatasetBlob = "datasets/bench.jsonl" })
            );
            if (runId is null)
            {
                Console.Error.WriteLine(string.Join("; ", problems.Select(p => $"{p.Key}: {string.Join(", ", p.Value)}")));
                return 1;
            }

            RunOutcome outcome = await host.Outcome(runId)!;
            TimeSpan end = total.Elapsed;
            Console.WriteLine($"outcome: {outcome.Status} {outcome.ModelId}{outcome.Error}");
            for (int i = 0; i < stages.Count; i++)
            {
                TimeSpan until = i + 1 < stages.Count ? stages[i + 1].At : end;
                Console.WriteLine($"  {stages[i].Stage, -30} {(until - stages[i].At).TotalSeconds, 7:N2} s");
            }

            Console.WriteLine($"  {"total", -30} {end.TotalSeconds, 7:N2} s   {mib / end.TotalSeconds:N0} MiB/s end to end");
            Console.WriteLine($"peak memory (working set): {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:N0} MiB");
            return outcome.Status == RunStatus.Succeeded ? 0 : 1;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException) { }
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using FineTuning.Core.Datasets;

namespace FineTuning.Benchmarks;

/// <summary>
/// Side-by-side figures on one file, in one run: <c>finetune validate</c> (one thread, and sharded on every core),
/// the Python cookbook checks, <c>finetune split</c>, and sharded validation on 1 vs 2 threads. Throughput is file
/// size over wall time; peak memory is the child process's VmHWM, sampled from /proc.
/// </summary>
public static class SideBySide
{
    public static int Run(string file, string? finetunePath = null)
    {
        string path = Path.GetFullPath(file);
        double mib = new FileInfo(path).Length / 1048576.0;
        string finetune = finetunePath ?? Path.Combine(AppContext.BaseDirectory, "finetune.dll");
        string script = Path.Combine(AppContext.BaseDirectory, "scripts", "cookbook_checks.py");
        string outDir = Path.Combine(Path.GetTempPath(), "finetune-bench-split");
        WarmCache(path);
        Console.WriteLine($"file: {Path.GetFileName(path)}, {mib:N1} MiB, {Environment.ProcessorCount} cores; finetune: {finetune}");

        Measure one = Best(() => Finetune(finetune, "validate", path, "--threads", "1", "--json"));
        Report("finetune validate --threads 1", mib, one);
        Measure all = Best(() => Finetune(finetune, "validate", path, "--json"));
        Report($"finetune validate --threads {Environment.ProcessorCount}", mib, all);
        // The opt-in fuzzy near-duplicates (MinHash of word 3-grams), beside the default checks.
        Measure fuzzyOne = Best(() => Finetune(finetune, "validate", path, "--threads", "1", "--json", "--near-duplicates"), runs: 1);
        Report("finetune validate --threads 1 --near-duplicates", mib, fuzzyOne);
        Measure fuzzyAll = Best(() => Finetune(finetune, "validate", path, "--json", "--near-duplicates"), runs: 1);
        Report($"finetune validate --threads {Environment.ProcessorCount} --near-duplicates", mib, fuzzyAll);
        Measure python = Best(() => Child("python3", script, path), runs: 1);
        Report("python3 cookbook_checks.py", mib, python);
        Console.WriteLine(
            $"  speed-up over Python: {python.Seconds / one.Seconds:N1}x on one thread, {python.Seconds / all.Seconds:N1}x on "
                + $"{Environment.ProcessorCount}"
        );
        Measure split = Best(() => Finetune(finetune, "split", path, "--out", outDir, "--json"));
        Report("finetune split", mib, split);

        var validator = new DatasetValidator(new ValidationOptions());
        validator.ValidateFileInShards(path, 2); // warm-up (JIT)
        double serial = Time(() => validator.ValidateFileInShards(path, parallelism: 1));
        double parallel = Time(() => validator.ValidateFileInShards(path, parallelism: 2));
        Console.WriteLine($"shards of 16 MiB in-process: 1 thread {serial:N2} s, 2 threads {parallel:N2} s: {serial / parallel:N2}x");
        Directory.Delete(outDir, recursive: true);
        return 0;
    }

    internal sealed record Measure(double Seconds, long PeakBytes, int ExitCode);

    internal static void Report(string what, double mib, Measure m) =>
        Console.WriteLine(
            $"{what, -36} {m.Seconds, 7:N2} s {mib / m.Seconds, 8:N0} MiB/s  peak {m.PeakBytes / 1048576.0, 6:N0} MiB  exit {m.ExitCode}"
        );

    internal static Measure Best(Func<Measure> run, int runs = 3) => Enumerable.Range(0, runs).Select(_ => run()).MinBy(m => m.Seconds)!;

    private static double Time(Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }

        return best;
    }

    /// <summary>Runs finetune: a build output's finetune.dll through dotnet, an installed (natively compiled) finetune as it is.</summary>
    internal static Measure Finetune(string finetune, params string[] args) =>
        finetune.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? Child("dotnet", [finetune, .. args]) : Child(finetune, args);

    internal static Measure Child(string exe, params string[] args)
    {
        var info = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(20))
        {
            peak = Math.Max(peak, ReadHighWaterMark(process.Id));
        }

        double seconds = sw.Elapsed.TotalSeconds;
        _ = stdout.Result;
        _ = stderr.Result;
        return new Measure(seconds, peak, process.ExitCode);
    }

    private static long ReadHighWaterMark(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException) { }

        return 0;
    }

    internal static void WarmCache(string path)
    {
        using FileStream stream = File.OpenRead(path);
        byte[] buffer = new byte[1 << 20];
        while (stream.Read(buffer) > 0) { }
    }
}

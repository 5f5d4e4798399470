using BenchmarkDotNet.Running;
using FineTuning.Benchmarks;

// finetune-bench generate FILE [--mb N]     write the synthetic dataset (default 256 MB)
// finetune-bench compare FILE [--finetune PATH] side-by-side figures: finetune validate/split vs the Python script,
//                                           shards; PATH: an installed finetune (scripts/compare-published.sh) instead
//                                           of the build output's finetune.dll next to this program
// finetune-bench run FILE                   a whole run as finetune run does it on the built-in emulator: time per stage, peak memory
// finetune-bench workflow FILE              the workflow's validation stage on the durable runtime vs finetune validate;
//                                           runtime overhead per activity; replay of ~1,000 history events
// finetune-bench evaluate [ROWS] [CONCURRENCY]  held-out evaluation on the emulator at 200 ms an answer: time vs the ideal
// finetune-bench tokens FILE...              token totals of the approximation vs exact o200k_base counts, and times
// finetune-bench micro [BenchmarkDotNet args] BenchmarkDotNet micro-benchmarks
switch (args.FirstOrDefault())
{
    case "generate" when args.Length >= 2:
        long mb = args.Length >= 4 && args[2] == "--mb" ? long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 256;
        long rows = SyntheticDataset.Write(args[1], mb * 1024 * 1024);
        Console.WriteLine($"{args[1]}: {rows:N0} rows, {new FileInfo(args[1]).Length / 1048576.0:N1} MiB");
        return 0;
    case "compare" when args.Length >= 2:
        return SideBySide.Run(args[1], args.Length >= 4 && args[2] == "--finetune" ? Path.GetFullPath(args[3]) : null);
    case "workflow" when args.Length >= 2:
        return await WorkflowBench.RunAsync(args[1]);
    case "run" when args.Length >= 2:
        return await RunBench.RunAsync(args[1]);
    case "evaluate":
        return await EvaluationBench.RunAsync(
            args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000,
            args.Length >= 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 16,
            TimeSpan.FromMilliseconds(200)
        );
    case "tokens" when args.Length >= 2:
        return TokenCalibration.Run(args[1..]);
    case "micro":
        // In process: BenchmarkDotNet's generated project looks for an executable named after this project's file,
        // and this one is named finetune-bench.
        string[] micro = args[1..];
        BenchmarkSwitcher
            .FromAssembly(typeof(SyntheticDataset).Assembly)
            .Run(micro.Contains("--inProcess") || micro.Contains("-i") ? micro : [.. micro, "--inProcess"]);
        return 0;
    default:
        Console.Error.WriteLine(
            "usage: generate FILE [--mb N] | compare FILE [--finetune PATH] | workflow FILE | run FILE | evaluate [ROWS] [CONCURRENCY] "
                + "| tokens FILE... | micro [args]"
        );
        return 2;
}

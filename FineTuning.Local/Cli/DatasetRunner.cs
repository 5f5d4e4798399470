using FineTuning.Core.Datasets;
using FineTuning.Core.Sharding;
using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary>Runs validation over a file: in shards on several threads when it is large, with a progress bar on big files.</summary>
internal static class DatasetRunner
{
    private const long ProgressThreshold = 50L * 1024 * 1024;

    public static DatasetReport Validate(string path, ValidationOptions options, int threads, bool showProgress, TextWriter stderr, CancellationToken cancellationToken)
    {
        var validator = new DatasetValidator(options);
        using FileStream probe = DatasetValidator.OpenRead(path);
        long size = probe.Length;
        probe.Dispose();
        bool sharded = threads > 1 && size > ShardPlanner.DefaultShardBytes;
        DatasetReport Run(IProgress<long>? progress) => sharded
            ? validator.ValidateFileInShards(path, threads, progress: progress, cancellationToken: cancellationToken)
            : validator.ValidateFile(path, progress, cancellationToken: cancellationToken);

        if (!showProgress || size < ProgressThreshold || Console.IsErrorRedirected)
        {
            return Run(null);
        }

        return WithProgress(stderr, $"Validating {Path.GetFileName(path)}", size, Run);
    }

    public static T WithProgress<T>(TextWriter stderr, string description, long total, Func<IProgress<long>, T> work)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) });
        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(description, maxValue: total);
                result = work(new Progress<long>(done => task.Value = done));
                task.Value = total;
            });
        return result;
    }
}

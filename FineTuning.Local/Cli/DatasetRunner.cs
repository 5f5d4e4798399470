using FineTuning.Core.Datasets;
using FineTuning.Core.Sharding;
using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary>Runs validation over a file: in shards on several threads when it is large, with a progress bar on big files.</summary>
internal static class DatasetRunner
{
    private const long ProgressThreshold = 50L * 1024 * 1024;

    public static DatasetReport Validate(
        string path,
        ValidationOptions options,
        int threads,
        bool showProgress,
        TextWriter stderr,
        CancellationToken cancellationToken
    )
    {
        var validator = new DatasetValidator(options);
        bool sharded = threads > 1 && options.Tokens.ScalesAcrossThreads && FileSize(path) > ShardPlanner.DefaultShardBytes;
        return showProgress ? WithProgress(path, stderr, Run) : Run(null);

        DatasetReport Run(IProgress<long>? progress) =>
            sharded
                ? validator.ValidateFileInShards(path, threads, progress: progress, cancellationToken: cancellationToken)
                : validator.ValidateFile(path, progress, cancellationToken: cancellationToken);
    }

    /// <summary>The size of a dataset, with the errors of <see cref="DatasetValidator.OpenRead"/> for a bad path.</summary>
    public static long FileSize(string path)
    {
        using FileStream probe = DatasetValidator.OpenRead(path);
        return probe.Length;
    }

    /// <summary>Runs work over a file with a progress bar on stderr when the file is big and stderr is a terminal.</summary>
    public static T WithProgress<T>(string path, TextWriter stderr, Func<IProgress<long>?, T> work)
    {
        long total = FileSize(path);
        if (total < ProgressThreshold || Console.IsErrorRedirected)
        {
            return work(null);
        }

        string description = $"Reading {Path.GetFileName(path)}";
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) });
        T result = default!;
        console
            .Progress()
            .AutoClear(true)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn()
            )
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(description, maxValue: total);
                result = work(new Progress<long>(done => task.Value = done));
                task.Value = total;
            });
        return result;
    }
}

using System.CommandLine;
using System.CommandLine.Parsing;

namespace FineTuning.Local.Cli;

/// <summary>The <c>finetune</c> command line: verbs, options and exit codes.</summary>
public static class FinetuneCli
{
    /// <summary>The dataset is fit (or the command succeeded).</summary>
    public const int ExitOk = 0;

    /// <summary>The dataset is not fit to fine-tune on.</summary>
    public const int ExitNotFit = 1;

    /// <summary>Wrong usage, or a file that cannot be read or written.</summary>
    public const int ExitUsage = 2;

    /// <summary>Interrupted (Ctrl+C) while following a run, which goes on when a host next starts.</summary>
    public const int ExitInterrupted = 130;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, CancellationToken.None).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var root = new RootCommand("finetune: from a JSONL dataset to a fine-tuned model on Azure OpenAI or OpenAI.");
        root.Subcommands.Add(ValidateCommand.Create(stdout, stderr));
        root.Subcommands.Add(EstimateCommand.Create(stdout, stderr));
        root.Subcommands.Add(SplitCommand.Create(stdout, stderr));
        root.Subcommands.Add(RunCommand.Create(stdout, stderr));
        root.Subcommands.Add(ServeCommand.Create(stdout, stderr));
        foreach (Command command in TableCommands.Create(stdout, stderr))
        {
            root.Subcommands.Add(command);
        }

        foreach (Command command in ControlCommands.Create(stdout, stderr))
        {
            root.Subcommands.Add(command);
        }

        foreach (Command command in ModelCommands.Create(stdout, stderr))
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(RepairCommand.Create(stdout, stderr));
        root.Subcommands.Add(EmulatorCommand.Create(stdout, stderr));

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (ParseError error in parsed.Errors)
            {
                stderr.WriteLine($"error: {error.Message}");
            }

            stderr.WriteLine("Run 'finetune --help' (or 'finetune <command> --help') for usage.");
            return ExitUsage;
        }

        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return await parsed.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
    }
}

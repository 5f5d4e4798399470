using FineTuning.Local.Cli;

return FinetuneCli.Run(args, Console.Out, Console.Error);

using Microsoft.Extensions.Logging;

namespace FineTuning.Local.Hosting;

/// <summary>
/// A logging provider that writes each entry as one line to a writer (<c>finetune serve</c>'s stdout):
/// <c>12:00:01 Run run-…: SubmitJob</c>, with <c>warning:</c> or <c>error:</c> before the message when it is one.
/// </summary>
public sealed class ConsoleLines(TextWriter writer, TimeProvider? time = null) : ILoggerProvider
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>A logger factory with only this provider.</summary>
    public static ILoggerFactory Factory(TextWriter writer) =>
        LoggerFactory.Create(logging => logging.AddProvider(new ConsoleLines(writer)));

    public ILogger CreateLogger(string categoryName) => new Lines(this);

    public void Dispose() { }

    private sealed class Lines(ConsoleLines owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(
            LogLevel logLevel,
            EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter
        )
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string level = logLevel switch
            {
                LogLevel.Warning => "warning: ",
                >= LogLevel.Error => "error: ",
                _ => "",
            };
            string line = $"{owner._time.GetLocalNow():HH:mm:ss} {level}{formatter(state, exception)}";
            lock (owner)
            {
                owner._writer.WriteLine(line);
            }
        }
    }

    private readonly TextWriter _writer = writer;
}

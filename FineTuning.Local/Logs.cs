using Microsoft.Extensions.Logging;

namespace FineTuning.Local;

/// <summary>The local host's log lines, each a template with a placeholder per field, as on the Azure host.</summary>
internal static partial class Logs
{
    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "drop: {Problem}; retrying")]
    public static partial void DropScanFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "drop: {Path}: {Problem}; rename the file to start a run.")]
    public static partial void DropBadName(ILogger logger, string path, string problem);

    [LoggerMessage(
        EventId = 303,
        Level = LogLevel.Information,
        Message = "drop: {DatasetBlob}: the same content and options as an earlier drop, which started {RunId}; nothing started."
    )]
    public static partial void DropRepeated(ILogger logger, string datasetBlob, string runId);

    [LoggerMessage(
        EventId = 304,
        Level = LogLevel.Warning,
        Message = "drop: {DatasetBlob}: not started: {Problems}. Fix it and save again."
    )]
    public static partial void DropInvalidOptions(ILogger logger, string datasetBlob, string problems);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "drop: {DatasetBlob}: started run {RunId}.")]
    public static partial void DropStarted(ILogger logger, string datasetBlob, string runId);
}

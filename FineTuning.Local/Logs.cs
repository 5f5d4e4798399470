using FineTuning.Local.Hosting;
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

    [LoggerMessage(
        EventId = 310,
        Level = LogLevel.Information,
        Message = "FineTuning API listening on {Api}api/runs (OpenAPI at /openapi/v1.json); dashboard: open {Api} in a browser; "
            + "data in {Root}; {Drop}. Ctrl+C stops."
    )]
    public static partial void Listening(ILogger logger, Uri api, string root, string drop);

    [LoggerMessage(
        EventId = 311,
        Level = LogLevel.Information,
        Message = "No provider is configured (FineTuning__Provider__Kind): jobs run on the built-in emulator, {Speed:0.#}x faster "
            + "than real time."
    )]
    public static partial void Emulated(ILogger logger, double speed);

    [LoggerMessage(
        EventId = 312,
        Level = LogLevel.Information,
        Message = "Resumed {Count} unfinished run(s) from {Root} where they stopped."
    )]
    public static partial void Resumed(ILogger logger, int count, string root);

    [LoggerMessage(EventId = 313, Level = LogLevel.Information, Message = "{Progress}")]
    public static partial void RunProgress(ILogger logger, string progress);

    [LoggerMessage(EventId = 314, Level = LogLevel.Warning, Message = "finetuning.db was missing rows: {Repair}.")]
    public static partial void Repaired(ILogger logger, RepairReport repair);
}

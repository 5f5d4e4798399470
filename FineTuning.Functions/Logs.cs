using Microsoft.Extensions.Logging;

namespace FineTuning.Functions;

/// <summary>The Azure host's log lines, each a template with a placeholder per field (custom dimensions in Application Insights).</summary>
internal static partial class Logs
{
    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Started run {RunId} for {DatasetBlob}")]
    public static partial void DropStarted(ILogger logger, string runId, string datasetBlob);

    [LoggerMessage(
        EventId = 202,
        Level = LogLevel.Warning,
        Message = "Not starting a run for {DatasetBlob}: its options are invalid ({Problems})"
    )]
    public static partial void DropInvalidOptions(ILogger logger, string datasetBlob, string problems);
}

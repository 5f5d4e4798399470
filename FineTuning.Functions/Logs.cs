using FineTuning.Core.Workflow;
using Microsoft.Extensions.Logging;

namespace FineTuning.Functions;

/// <summary>The Azure host's log lines, each a template with a placeholder per field (custom dimensions in Application Insights).</summary>
internal static partial class Logs
{
    /// <summary>The category of the orchestrators' events (the workbook's queries select it).</summary>
    public const string WorkflowCategory = "FineTuning.Workflow";

    /// <summary>An orchestrator's event, with its template and fields as Core declares them once for both hosts.</summary>
    public static void Workflow(ILogger logger, WorkflowEvent entry)
    {
        LogLevel level = entry.Level switch { OrchestrationLogLevel.Warning => LogLevel.Warning, OrchestrationLogLevel.Error => LogLevel.Error, _ => LogLevel.Information };
        if (logger.IsEnabled(level))
        {
            logger.Log(level, new EventId(entry.EventId, entry.GetType().Name), entry.Fields(), null, (_, _) => entry.Describe());
        }
    }

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Started run {RunId} for {DatasetBlob}")]
    public static partial void DropStarted(ILogger logger, string runId, string datasetBlob);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Not starting a run for {DatasetBlob}: its options are invalid ({Problems})")]
    public static partial void DropInvalidOptions(ILogger logger, string datasetBlob, string problems);
}

using Microsoft.Extensions.Logging;

namespace FineTuning.OpenAI;

public sealed partial class OpenAIFineTuningProvider
{
    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "Creating the job of run {RunId} may have failed (attempt {Attempt}: {Reason}); looking it up by run id before trying "
            + "again"
    )]
    private partial void LogCreateUncertain(string runId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of run {RunId} was created by an earlier attempt; using it")]
    private partial void LogFoundCreated(string jobId, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Uploading {FileName} in {Parts} parts of up to {PartBytes} bytes")]
    private partial void LogUploadParts(string fileName, int parts, int partBytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The provider refused a request with {Status}: {Message}")]
    private partial void LogRefused(int status, string message);
}

using System.ClientModel.Primitives;
using System.Globalization;

namespace FineTuning.OpenAI;

/// <summary>
/// The SDK's retry policy (408, 429 and 5xx with backoff, following Retry-After), except that a Retry-After longer than
/// <paramref name="maxWait"/> is not slept through inside the call: the answer is returned as it is, so the caller can
/// wait on something durable.
/// </summary>
internal sealed class CappedRetryPolicy(int maxRetries, TimeSpan maxWait) : ClientRetryPolicy(maxRetries)
{
    protected override bool ShouldRetry(PipelineMessage message, Exception? exception) =>
        !WaitsTooLong(message) && base.ShouldRetry(message, exception);

    protected override async ValueTask<bool> ShouldRetryAsync(PipelineMessage message, Exception? exception) =>
        !WaitsTooLong(message) && await base.ShouldRetryAsync(message, exception).ConfigureAwait(false);

    private bool WaitsTooLong(PipelineMessage message) => RetryAfter(message.Response) is { } wait && wait > maxWait;

    /// <summary>How long a response asks the caller to wait (<c>retry-after-ms</c>, or Retry-After in seconds or as a date).</summary>
    public static TimeSpan? RetryAfter(PipelineResponse? response, TimeProvider? time = null)
    {
        if (response is null)
        {
            return null;
        }

        if (
            response.Headers.TryGetValue("retry-after-ms", out string? ms)
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out double milliseconds)
        )
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        if (!response.Headers.TryGetValue("Retry-After", out string? value) || value is null)
        {
            return null;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
        {
            return TimeSpan.FromSeconds(Math.Max(0, seconds));
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at)
            ? at - (time ?? TimeProvider.System).GetUtcNow()
            : null;
    }
}

namespace FineTuning.Core.Providers;

/// <summary>A provider call failed with a client error; the provider's code, message and parameter are kept.</summary>
public class ProviderException(int status, string? code, string message, string? param = null)
    : Exception($"{status} {code}: {message}{(param is null ? "" : $" (param: {param})")}")
{
    public int Status { get; } = status;

    public string? Code { get; } = code;

    public string? Param { get; } = param;
}

/// <summary>
/// The service refused the request (a 4xx other than 408, 409 and 429): asking again will not help, so the workflow
/// does not retry it.
/// </summary>
public sealed class ProviderRejectedException(int status, string? code, string message, string? param = null)
    : ProviderException(status, code, message, param);

/// <summary>
/// The service asked to be called again later (429 or 503 with Retry-After) after a longer wait than a call sleeps through:
/// the workflow waits <see cref="RetryAfter"/> on a durable timer instead of holding an activity.
/// </summary>
public sealed class ProviderBusyException(int status, string? code, string message, TimeSpan retryAfter)
    : ProviderException(status, code, $"{message} (asked to retry after {retryAfter})")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

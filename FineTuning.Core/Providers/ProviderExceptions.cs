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
public sealed partial class ProviderBusyException(int status, string? code, string message, TimeSpan retryAfter)
    : ProviderException(status, code, $"{message} (asked to retry after {(long)Math.Ceiling(retryAfter.TotalSeconds)} s)")
{
    public TimeSpan RetryAfter { get; } = retryAfter;

    /// <summary>
    /// The exception an activity failed with, as a host records it (its type's full name and its message): the
    /// orchestrator sees it again as itself, so it can wait on a durable timer as long as the provider asked.
    /// </summary>
    public static ProviderBusyException? FromFailure(string? errorType, string? errorMessage)
    {
        if (
            errorType != typeof(ProviderBusyException).FullName
            || errorMessage is null
            || Recorded().Match(errorMessage) is not { Success: true } m
        )
        {
            return null;
        }

        string code = m.Groups["code"].Value;
        return new ProviderBusyException(
            int.Parse(m.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture),
            code.Length == 0 ? null : code,
            m.Groups["message"].Value,
            TimeSpan.FromSeconds(long.Parse(m.Groups["seconds"].Value, System.Globalization.CultureInfo.InvariantCulture))
        );
    }

    [System.Text.RegularExpressions.GeneratedRegex(
        @"^(?<status>\d{3}) (?<code>[^:]*): (?<message>.*) \(asked to retry after (?<seconds>\d{1,12}) s\)$",
        System.Text.RegularExpressions.RegexOptions.Singleline
    )]
    private static partial System.Text.RegularExpressions.Regex Recorded();
}

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

namespace FineTuning.Core.Api;

/// <summary>An error answer of the HTTP API in the shape of RFC 9457 problem details (<c>application/problem+json</c>).</summary>
public sealed record ApiProblem(
    string Type,
    string Title,
    int Status,
    string? Detail = null,
    IReadOnlyDictionary<string, string[]>? Errors = null
)
{
    public const string ContentType = "application/problem+json";

    /// <summary>400: the request is wrong, with every field error listed.</summary>
    public static ApiProblem Validation(IReadOnlyDictionary<string, string[]> errors) =>
        new(
            "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "The request is not valid.",
            400,
            "Fix the fields listed in errors; nothing was started.",
            errors
        );

    /// <summary>404: no such run, model or report.</summary>
    public static ApiProblem NotFound(string what) => new("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not found.", 404, what);

    /// <summary>409: the run is not in a state where the request can apply (the detail says which it is in).</summary>
    public static ApiProblem Conflict(string detail) =>
        new("https://tools.ietf.org/html/rfc9110#section-15.5.10", "Not possible in the run's current state.", 409, detail);
}

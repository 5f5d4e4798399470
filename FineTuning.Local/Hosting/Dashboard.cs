using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FineTuning.Local.Hosting;

/// <summary>
/// The dashboard: a page, a script and a style sheet embedded in the binary, served at <c>/</c> and <c>/dashboard/</c>
/// under a strict Content-Security-Policy (its own script and styles, requests to its own origin, nothing inline, no
/// frames); everything it shows comes from the HTTP API.
/// </summary>
internal static class Dashboard
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; "
        + "form-action 'none'; frame-ancestors 'none'";

    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "Dashboard/index.html", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "Dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "Dashboard/app.css", "text/css; charset=utf-8"),
    ];

    /// <summary>Whether <paramref name="path"/> is one of the dashboard's files.</summary>
    public static bool Serves(PathString path) => Files.Any(f => path.Equals(f.Path, StringComparison.Ordinal));

    public static void Map(WebApplication app)
    {
        foreach ((string path, string resource, string contentType) in Files)
        {
            byte[] content = Read(resource);
            app.MapGet(path, (HttpResponse response) =>
                {
                    response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                    response.Headers.XContentTypeOptions = "nosniff";
                    response.Headers["Referrer-Policy"] = "no-referrer";
                    return Results.Bytes(content, contentType);
                })
                .ExcludeFromDescription();
        }
    }

    private static byte[] Read(string resource)
    {
        using Stream stream = typeof(Dashboard).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The dashboard's {resource} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

using System.Collections.Specialized;
using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Moq;

namespace FineTuning.Tests.Functions;

/// <summary>
/// HTTP requests and responses as the Functions worker hands them to an HTTP-triggered function, for calling the Azure
/// host's functions without the Functions runtime: the worker's types are abstract, the runtime is the port.
/// </summary>
internal sealed class FunctionsHttp
{
    private readonly FunctionContext _context;

    public FunctionsHttp() => _context = new Mock<FunctionContext>().Object;

    public HttpRequestData Request(string method, string pathAndQuery, string? body = null) =>
        new TestRequest(_context, method, new Uri(new Uri("https://finetuning.example.net"), pathAndQuery), body);

    public static string Body(HttpResponseData response)
    {
        response.Body.Position = 0;
        return new StreamReader(response.Body, Encoding.UTF8).ReadToEnd();
    }

    public static string? Header(HttpResponseData response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? string.Join(", ", values) : null;

    private sealed class TestRequest(FunctionContext context, string method, Uri url, string? body) : HttpRequestData(context)
    {
        public override Stream Body { get; } = new MemoryStream(Encoding.UTF8.GetBytes(body ?? ""));

        public override HttpHeadersCollection Headers { get; } = [];

        public override IReadOnlyCollection<IHttpCookie> Cookies { get; } = [];

        public override Uri Url { get; } = url;

        public override IEnumerable<ClaimsIdentity> Identities { get; } = [];

        public override string Method { get; } = method;

        public override NameValueCollection Query { get; } = System.Web.HttpUtility.ParseQueryString(url.Query);

        public override HttpResponseData CreateResponse() => new TestResponse(FunctionContext);
    }

    private sealed class TestResponse(FunctionContext context) : HttpResponseData(context)
    {
        public override HttpStatusCode StatusCode { get; set; } = HttpStatusCode.OK;

        public override HttpHeadersCollection Headers { get; set; } = [];

        public override Stream Body { get; set; } = new MemoryStream();

        public override HttpCookies Cookies { get; } = new Mock<HttpCookies>().Object;
    }
}

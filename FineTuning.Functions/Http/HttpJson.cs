using System.Net;
using System.Text.Json;
using FineTuning.Core.Api;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;
using Microsoft.Azure.Functions.Worker.Http;

namespace FineTuning.Functions.Http;

/// <summary>JSON answers in the product's report shape, and problem+json errors.</summary>
internal static class HttpJson
{
    public static async Task<HttpResponseData> Ok<T>(HttpRequestData request, T value, HttpStatusCode status = HttpStatusCode.OK)
    {
        HttpResponseData response = request.CreateResponse(status);
        response.Headers.Add("Content-Type", "application/json; charset=utf-8");
        await response.WriteStringAsync(JsonSerializer.Serialize(value, ReportSerializer.Options)).ConfigureAwait(false);
        return response;
    }

    public static async Task<HttpResponseData> Problem(HttpRequestData request, ApiProblem problem)
    {
        HttpResponseData response = request.CreateResponse((HttpStatusCode)problem.Status);
        response.Headers.Add("Content-Type", ApiProblem.ContentType);
        await response.WriteStringAsync(JsonSerializer.Serialize(problem, ReportSerializer.Options)).ConfigureAwait(false);
        return response;
    }
}

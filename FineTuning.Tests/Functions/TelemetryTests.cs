using System.IO.Compression;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Monitor.OpenTelemetry.Exporter;
using FineTuning.Core.Workflow;
using FineTuning.Functions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FineTuning.Tests.Functions;

/// <summary>
/// One telemetry pipeline: host.json asks the host for OpenTelemetry, and the worker's own composition exports its logs
/// through OpenTelemetry to Application Insights with the host's credential (no key, no classic SDK beside it).
/// </summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task TheWorkersLogs_ReachApplicationInsights_ThroughOpenTelemetry_SignedInWithTheHostsCredential()
    {
        var ingestion = new IngestionEndpoint();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(
            new Dictionary<string, string?>
            {
                [FineTuningHostExtensions.TelemetryConnectionSetting] =
                    "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://ingestion.monitor.test/",
                ["FineTuning:Provider:Kind"] = "Emulator",
                ["FineTuning:Provider:Endpoint"] = "http://127.0.0.1:9/v1/",
                ["FineTuning:Provider:ApiKey"] = "test-key",
            }
        );
        builder.Services.AddSingleton<TokenCredential>(new FixedToken("identity-token"));
        builder.AddFineTuning();
        // The port boundary: Application Insights' ingestion, answered in process (bearer tokens travel over https only).
        builder.Services.PostConfigure<AzureMonitorExporterOptions>(o =>
        {
            o.Transport = new HttpClientTransport(new HttpClient(ingestion));
            o.DisableOfflineStorage = true;
        });

        using (IHost app = builder.Build())
        {
            await app.StartAsync();
            ILogger workflow = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(WorkflowLog.Category);
            workflow.Write(new StageEntered("run-telemetry-1", "Validate"));
            await app.StopAsync();
        } // disposing the providers flushes the exporter

        string sent = string.Join("\n", ingestion.Bodies);
        Assert.Contains("Bearer identity-token", ingestion.Authorizations);
        Assert.Contains("\"RunId\":\"run-telemetry-1\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"Stage\":\"Validate\"", sent, StringComparison.Ordinal);
        Assert.Contains($"\"CategoryName\":\"{WorkflowLog.Category}\"", sent, StringComparison.Ordinal);
        Assert.Contains("\"EventName\":\"StageEntered\"", sent, StringComparison.Ordinal);
    }

    [Fact]
    public void TheHostAsksForOpenTelemetry_AndTheWorkerCarriesNoClassicApplicationInsightsSdk()
    {
        using JsonDocument host = JsonDocument.Parse(File.ReadAllText(Repo.File("host.json")));
        AssemblyName[] references = typeof(FineTuningHostExtensions).Assembly.GetReferencedAssemblies();

        Assert.Equal("OpenTelemetry", host.RootElement.GetProperty("telemetryMode").GetString());
        Assert.DoesNotContain(references, a => a.Name!.StartsWith("Microsoft.ApplicationInsights", StringComparison.Ordinal));
        Assert.Contains(references, a => a.Name == "Microsoft.Azure.Functions.Worker.OpenTelemetry");
        Assert.Contains(references, a => a.Name == "Azure.Monitor.OpenTelemetry.Exporter");
    }

    private sealed class FixedToken(string token) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(token, DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    /// <summary>Application Insights' ingestion: keeps each track request's body and Authorization header.</summary>
    private sealed class IngestionEndpoint : HttpMessageHandler
    {
        public List<string> Bodies { get; } = [];

        public List<string> Authorizations { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Stream content = await request.Content!.ReadAsStreamAsync(cancellationToken);
            if (request.Content.Headers.ContentEncoding.Contains("gzip"))
                content = new GZipStream(content, CompressionMode.Decompress);
            string body = await new StreamReader(content).ReadToEndAsync(cancellationToken);
            lock (Bodies)
            {
                Bodies.Add(body);
                Authorizations.Add(request.Headers.Authorization?.ToString() ?? "");
            }

            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("{\"itemsReceived\":1,\"itemsAccepted\":1,\"errors\":[]}"),
            };
        }
    }
}

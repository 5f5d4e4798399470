using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using FineTuning.Core.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI;
using OpenAI.Files;
using OpenAI.FineTuning;

namespace FineTuning.OpenAI;

/// <summary>
/// <see cref="IFineTuningProvider"/> over the OpenAI .NET SDK, for Azure OpenAI (<c>/openai/v1/</c>, Entra ID or
/// api-key), OpenAI and the emulator. File uploads use the SDK's typed client; job calls are protocol calls on the
/// same pipeline (its retry policy retries 408, 429 and 5xx with backoff and Retry-After), so that every method,
/// the metadata filter and the raw error fields are reachable.
/// </summary>
/// <remarks>Split by API area: <c>.Files.cs</c>, <c>.Jobs.cs</c>, <c>.Results.cs</c> (events, checkpoints, the results
/// file), <c>.Graders.cs</c>; its log lines are in <c>.Logs.cs</c>.</remarks>
public sealed partial class OpenAIFineTuningProvider : IFineTuningProvider
{
    /// <summary>The token scope of Azure OpenAI.</summary>
    public const string AzureScope = "https://cognitiveservices.azure.com/.default";

    private static readonly Uri OpenAIEndpoint = new("https://api.openai.com/v1/");

    private readonly ClientPipeline _pipeline;
    private readonly OpenAIFileClient _files;
    private readonly Uri _endpoint;
    private readonly ProviderOptions _options;
    private readonly string _credentialDescription;
    private readonly ILogger _logger;
    private readonly FineTuningClient _create;

    private OpenAIFineTuningProvider(
        ClientPipeline pipeline,
        AuthenticationPolicy auth,
        OpenAIClientOptions clientOptions,
        FineTuningClient create,
        Uri endpoint,
        ProviderOptions options,
        string credentialDescription,
        ILogger logger
    )
    {
        _logger = logger;
        _create = create;
        _pipeline = pipeline;
        _endpoint = endpoint;
        _options = options;
        _credentialDescription = credentialDescription;
        _files = new OpenAIClient(auth, clientOptions).GetOpenAIFileClient();
    }

    /// <summary>
    /// Builds the provider once (it is thread-safe); <paramref name="credential"/> defaults to DefaultAzureCredential for
    /// Entra ID. With a <paramref name="loggerFactory"/>, the SDK logs each request, response and retry (headers other
    /// than its safe list, and all bodies, redacted: keys and tokens never reach a log) and the provider logs what it
    /// decides (a job found rather than created, upload parts).
    /// </summary>
    public static OpenAIFineTuningProvider Create(
        ProviderOptions options,
        TokenCredential? credential = null,
        PipelineTransport? transport = null,
        ILoggerFactory? loggerFactory = null
    )
    {
        if (options.Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        Uri endpoint = WithSlash(options.Endpoint ?? OpenAIEndpoint);
        (AuthenticationPolicy auth, string description) = options switch
        {
            { Kind: ProviderKind.AzureOpenAI, Auth: AzureAuth.EntraId } => (
                (AuthenticationPolicy)new BearerTokenPolicy(credential ?? new DefaultAzureCredential(), AzureScope),
                "Microsoft Entra ID (DefaultAzureCredential)"
            ),
            { Kind: ProviderKind.AzureOpenAI } => (
                ApiKeyAuthenticationPolicy.CreateHeaderApiKeyPolicy(new ApiKeyCredential(options.ApiKey!), "api-key"),
                "the resource's api-key"
            ),
            _ => (
                ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(options.ApiKey ?? "emulator")),
                "the API key"
            ),
        };

        OpenAIClientOptions ClientOptions(int retries)
        {
            var clientOptions = new OpenAIClientOptions
            {
                Endpoint = endpoint,
                OrganizationId = options.Organization,
                ProjectId = options.Project,
                RetryPolicy = new CappedRetryPolicy(retries, options.MaxRetryWait),
                NetworkTimeout = options.RequestTimeout,
                ClientLoggingOptions = new ClientLoggingOptions
                {
                    LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
                    EnableLogging = loggerFactory is not null,
                    EnableMessageContentLogging = false,
                },
            };
            if (transport is not null)
            {
                clientOptions.Transport = transport;
            }

            return clientOptions;
        }

        OpenAIClientOptions clientOptions = ClientOptions(retries: 5);
        ClientPipeline pipeline = ClientPipeline.Create(clientOptions, [], [auth], []);

        // Creating a job is never retried blindly (see CreateJobAsync): its typed client has no retries of its own.
        FineTuningClient create = new OpenAIClient(auth, ClientOptions(retries: 0)).GetFineTuningClient();
        return new OpenAIFineTuningProvider(
            pipeline,
            auth,
            clientOptions,
            create,
            endpoint,
            options,
            description,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<OpenAIFineTuningProvider>()
        );
    }

    private async Task<JsonElement> SendAsync(
        string method,
        string path,
        string? json,
        CancellationToken cancellationToken,
        bool retry = true
    )
    {
        BinaryData content = await SendRawAsync(method, path, cancellationToken, json, retry).ConfigureAwait(false);
        using JsonDocument document = JsonDocument.Parse(content);
        return document.RootElement.Clone();
    }

    private async Task<BinaryData> SendRawAsync(
        string method,
        string path,
        CancellationToken cancellationToken,
        string? json = null,
        bool retry = true,
        (BinaryData Body, string ContentType)? content = null,
        IReadOnlyDictionary<string, string>? headers = null
    )
    {
        using PipelineMessage message = _pipeline.CreateMessage();
        message.Apply(new RequestOptions { CancellationToken = cancellationToken });
        message.ResponseClassifier = retry ? PipelineMessageClassifier.Create([200]) : NoRetry.Instance;
        PipelineRequest request = message.Request;
        request.Method = method;
        request.Uri = new Uri(_endpoint, path);
        request.Headers.Set("Accept", "application/json");
        foreach ((string name, string value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.Set(name, value);
        }

        if (json is not null)
        {
            request.Headers.Set("Content-Type", "application/json");
            request.Content = BinaryContent.Create(BinaryData.FromString(json));
        }
        else if (content is { } raw)
        {
            request.Headers.Set("Content-Type", raw.ContentType);
            request.Content = BinaryContent.Create(raw.Body);
        }

        await _pipeline.SendAsync(message).ConfigureAwait(false);
        PipelineResponse response = message.Response!;
        if (response.IsError)
        {
            throw ToProviderException(response);
        }

        return response.Content;
    }

    private ProviderException ToProviderException(PipelineResponse response)
    {
        string? code = null,
            param = null,
            message = response.ReasonPhrase;
        try
        {
            using JsonDocument document = JsonDocument.Parse(response.Content);
            if (document.RootElement.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object)
            {
                code = error.TryGetProperty("code", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                param = error.TryGetProperty("param", out JsonElement p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                message = error.TryGetProperty("message", out JsonElement m) ? m.GetString() ?? message : message;
            }
        }
        catch (JsonException)
        {
            message = $"{response.ReasonPhrase}: {Truncate(response.Content.ToString())}";
        }

        if (response.Status is 401 or 403)
        {
            string role =
                _options.Kind == ProviderKind.AzureOpenAI && _options.Auth == AzureAuth.EntraId
                    ? " The identity needs the role 'Cognitive Services OpenAI Contributor' on the Azure OpenAI resource."
                    : " Check the key in FineTuning:Provider:ApiKey.";
            message = $"{message} (authenticated with {_credentialDescription}).{role}";
            LogRefused(response.Status, message);
        }

        if (response.Status is 429 or 503 && CappedRetryPolicy.RetryAfter(response) is { } wait && wait > _options.MaxRetryWait)
        {
            return new ProviderBusyException(response.Status, code, message ?? "", wait);
        }

        return response.Status is >= 400 and < 500 and not (408 or 409 or 429)
            ? new ProviderRejectedException(response.Status, code, message ?? "", param)
            : new ProviderException(response.Status, code, message ?? "", param);
    }

    private static string Truncate(string text) => text.Length > 300 ? text[..300] + "…" : text;

    /// <summary>Classifies 200 as success and never asks the pipeline to retry (for calls that are not idempotent).</summary>
    private sealed class NoRetry : PipelineMessageClassifier
    {
        public static NoRetry Instance { get; } = new();

        public override bool TryClassify(PipelineMessage message, out bool isError)
        {
            isError = message.Response?.Status != 200;
            return true;
        }

        public override bool TryClassify(PipelineMessage message, Exception? exception, out bool isRetriable)
        {
            isRetriable = false;
            return true;
        }
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using FineTuning.Core.Providers;

namespace FineTuning.OpenAI;

/// <summary>
/// An Azure OpenAI account's deployments through Azure Resource Manager's REST API, on Azure.Core's pipeline (retries
/// with Retry-After, the host's Entra ID token). Azure.ResourceManager's only surface for this resource type without
/// its provider package (which the mirror lacks) is the generic resource, whose model requires a location that a
/// deployment does not have; the REST calls are three and small.
/// </summary>
public sealed class ArmModelDeployments : IModelDeployments
{
    /// <summary>The API version of <c>Microsoft.CognitiveServices/accounts/deployments</c> used.</summary>
    public const string ApiVersion = "2024-10-01";

    private readonly HttpPipeline _pipeline;
    private readonly Uri _deployments;

    public ArmModelDeployments(DeploymentOptions options, TokenCredential? credential)
    {
        if (options.AccountResourceId is not { } account)
            throw new ArgumentException(
                "No Azure OpenAI account to deploy to (FineTuning__Deployments__AccountResourceId).",
                nameof(options)
            );
        HttpPipelinePolicy auth = options.EmulatorKey is { } key
            ? new EmulatorKeyPolicy(key)
            : new BearerTokenAuthenticationPolicy(
                credential ?? throw new ArgumentNullException(nameof(credential), "Azure Resource Manager needs the host's credential."),
                new Uri(options.ManagementEndpoint, ".default").ToString()
            );
        _pipeline = HttpPipelineBuilder.Build(new Options(), auth);
        _deployments = new Uri(options.ManagementEndpoint, account.TrimStart('/') + "/deployments/");
    }

    public async Task<DeploymentState?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        using Response response = await SendAsync(RequestMethod.Get, name, null, cancellationToken).ConfigureAwait(false);
        return response.Status == 404 ? null : Read(name, Checked(response, name));
    }

    public async Task<DeploymentState> CreateOrUpdateAsync(DeploymentRequest request, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["sku"] = new JsonObject { ["name"] = request.Sku, ["capacity"] = request.Capacity },
            ["properties"] = new JsonObject
            {
                ["model"] = new JsonObject
                {
                    ["format"] = "OpenAI",
                    ["name"] = request.Model,
                    ["version"] = "1",
                },
            },
        };
        using Response response = await SendAsync(RequestMethod.Put, request.Name, body.ToJsonString(), cancellationToken)
            .ConfigureAwait(false);
        if (response.Status == 409)
        {
            throw new DeploymentNameTakenException(
                $"Azure OpenAI refused the deployment '{request.Name}' (409: {Message(response)}): the name is taken, or the account is "
                    + "busy with another change to it."
            );
        }

        return Read(request.Name, Checked(response, request.Name));
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        using Response response = await SendAsync(RequestMethod.Delete, name, null, cancellationToken).ConfigureAwait(false);
        if (response.Status != 404)
            Checked(response, name);
    }

    private async Task<Response> SendAsync(RequestMethod method, string name, string? body, CancellationToken cancellationToken)
    {
        Request request = _pipeline.CreateRequest();
        request.Method = method;
        request.Uri.Reset(new Uri(_deployments, $"{Uri.EscapeDataString(name)}?api-version={ApiVersion}"));
        if (body is not null)
        {
            request.Headers.Add("Content-Type", "application/json");
            request.Content = RequestContent.Create(System.Text.Encoding.UTF8.GetBytes(body));
        }

        return await _pipeline.SendRequestAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static Response Checked(Response response, string name)
    {
        if (response.Status is >= 200 and < 300)
            return response;
        if (response.Status is 429 or >= 500)
            throw new RequestFailedException(
                response.Status,
                $"Azure Resource Manager answered {response.Status} for the deployment '{name}': {Message(response)}"
            );
        throw new ProviderRejectedException(
            response.Status,
            null,
            $"Azure Resource Manager refused the deployment '{name}': {Message(response)}"
        );
    }

    private static string Message(Response response)
    {
        try
        {
            using JsonDocument error = JsonDocument.Parse(response.Content.ToMemory());
            return error.RootElement.TryGetProperty("error", out JsonElement e) && e.TryGetProperty("message", out JsonElement m)
                ? m.GetString() ?? ""
                : response.ReasonPhrase;
        }
        catch (JsonException)
        {
            return response.ReasonPhrase;
        }
    }

    private static DeploymentState Read(string name, Response response)
    {
        using JsonDocument document = JsonDocument.Parse(response.Content.ToMemory());
        JsonElement root = document.RootElement;
        JsonElement properties = root.TryGetProperty("properties", out JsonElement p) ? p : default;
        string Text(JsonElement element, string member) =>
            element.ValueKind == JsonValueKind.Object
            && element.TryGetProperty(member, out JsonElement v)
            && v.ValueKind == JsonValueKind.String
                ? v.GetString()!
                : "";
        JsonElement model =
            properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty("model", out JsonElement m) ? m : default;
        JsonElement sku = root.TryGetProperty("sku", out JsonElement s) ? s : default;
        string state = Text(properties, "provisioningState");
        return new DeploymentState(name, Text(model, "name"), Text(sku, "name"), state.Length == 0 ? DeploymentStates.Accepted : state);
    }

    private sealed class Options : ClientOptions
    {
        public Options()
        {
            Retry.MaxRetries = 5;
            Retry.Mode = RetryMode.Exponential;
        }
    }

    /// <summary>The emulator's Resource Manager takes a key over plain HTTP; Azure's never does.</summary>
    private sealed class EmulatorKeyPolicy(string key) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) => message.Request.Headers.SetValue("Authorization", $"Bearer {key}");
    }
}

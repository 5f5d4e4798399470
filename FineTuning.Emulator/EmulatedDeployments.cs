using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace FineTuning.Emulator;

/// <summary>A deployment of the emulated account: what it serves, and since when (its provisioning state follows).</summary>
internal sealed record Deployment(string Account, string Name, string Model, string Sku, int Capacity, DateTimeOffset CreatedAt)
{
    /// <summary>Its key among the emulator's deployments: <c>{account}/{name}</c>.</summary>
    public string Key => $"{Account}/{Name}";
}

/// <summary>
/// Azure Resource Manager's deployments of an Azure OpenAI account, under <c>/arm/</c>: a PUT creates a deployment
/// that is <c>Creating</c> for <see cref="EmulatorOptions.DeploymentSeconds"/> simulated seconds and then
/// <c>Succeeded</c>; a PUT of another model under a name in use is a 409; GET (one, or the account's list) and DELETE
/// as ARM answers them (404 for none); <c>api-version</c> is required. Deployments are kept in the emulator's snapshot,
/// so a restarted emulator still serves them. The same faults and key apply as to the rest of the emulator.
/// </summary>
internal static class EmulatedDeployments
{
    private const string Account =
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{account}/deployments";

    private const string Route = Account + "/{name}";

    public static void Map(RouteGroupBuilder arm, EmulatorState state)
    {
        ConcurrentDictionary<string, Deployment> deployments = state.Deployments;
        arm.MapPut(Route, async (string account, string name, HttpRequest request) =>
        {
            if (!request.Query.ContainsKey("api-version"))
                return Error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required.");
            JsonNode? body = await JsonNode.ParseAsync(request.Body).ConfigureAwait(false);
            string? model = body?["properties"]?["model"]?["name"]?.GetValue<string>();
            string sku = body?["sku"]?["name"]?.GetValue<string>() ?? "Standard";
            int capacity = body?["sku"]?["capacity"]?.GetValue<int>() ?? 1;
            if (model is null)
                return Error(400, "InvalidResourceProperties", "properties.model.name is required.");
            string key = $"{account}/{name}";
            if (deployments.TryGetValue(key, out Deployment? existing) && existing.Model != model)
                return Error(409, "Conflict", $"The deployment '{name}' serves {existing.Model}; a deployment's model cannot be changed.");
            Deployment deployment = deployments.AddOrUpdate(
                key,
                _ => new Deployment(account, name, model, sku, capacity, state.Now),
                (_, old) => old with { Sku = sku, Capacity = capacity }
            );
            state.DeploymentsChanged();
            return Results.Json(Body(deployment, state), EmulatorJsonContext.Default.JsonNode, statusCode: existing is null ? 201 : 200);
        });
        arm.MapGet(Route, (string account, string name) =>
            deployments.TryGetValue($"{account}/{name}", out Deployment? deployment)
                ? Results.Json(Body(deployment, state), EmulatorJsonContext.Default.JsonNode)
                : Error(404, "DeploymentNotFound", $"Deployment '{name}' does not exist.")
        );
        arm.MapGet(Account, (string account) =>
            Results.Json(
                new JsonObject
                {
                    ["value"] = new JsonArray([
                        .. deployments
                            .Values.Where(d => string.Equals(d.Account, account, StringComparison.OrdinalIgnoreCase))
                            .OrderBy(d => d.Name, StringComparer.Ordinal)
                            .Select(d => Body(d, state)),
                    ]),
                },
                EmulatorJsonContext.Default.JsonNode
            )
        );
        arm.MapDelete(Route, (string account, string name) =>
        {
            if (!deployments.TryRemove($"{account}/{name}", out _))
                return Results.NoContent();
            state.DeploymentsChanged();
            return Results.Ok();
        });
    }

    private static JsonObject Body(Deployment deployment, EmulatorState state) =>
        new JsonObject
        {
            ["name"] = deployment.Name,
            ["type"] = "Microsoft.CognitiveServices/accounts/deployments",
            ["sku"] = new JsonObject { ["name"] = deployment.Sku, ["capacity"] = deployment.Capacity },
            ["properties"] = new JsonObject
            {
                ["model"] = new JsonObject { ["format"] = "OpenAI", ["name"] = deployment.Model },
                ["provisioningState"] =
                    (state.Now - deployment.CreatedAt).TotalSeconds >= state.Options.DeploymentSeconds ? "Succeeded" : "Creating",
            },
        };

    private static IResult Error(int status, string code, string message) =>
        Results.Json(
            new JsonObject
            {
                ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
            },
            EmulatorJsonContext.Default.JsonNode,
            statusCode: status
        );
}

using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.OpenAI;

namespace FineTuning.Tests.Infra;

/// <summary>
/// The Bicep in infra/ compiles without a warning and matches the code, read from the compiled ARM template: every
/// setting the Functions host reads is set, every container and table the code uses is created, every role the
/// identity needs is assigned before the app starts, and nothing grants a key.
/// </summary>
public partial class InfraTests
{
    private static readonly string Root = Repo.Root;

    private static string Read(string relative) => File.ReadAllText(Path.Combine(Root, relative));

    private static string AllBicep() =>
        string.Concat(Directory.GetFiles(Path.Combine(Root, "infra"), "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText));

    private static string FunctionsSource() =>
        string.Concat(
            Directory.GetFiles(Path.Combine(Root, "FineTuning.Functions"), "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText)
        );

    private static HashSet<string> AppSettings() =>
        [
            .. CompiledTemplate
                .ResourcesOf("functionapp", "Microsoft.Web/sites")
                .Single()
                .GetProperty("properties")
                .GetProperty("siteConfig")
                .GetProperty("appSettings")
                .EnumerateArray()
                .Select(s => s.GetProperty("name").GetString()!),
        ];

    [Fact]
    public void EveryBicepFile_BuildsAndLints_WithoutAnErrorOrAWarning()
    {
        string[] files = Directory.GetFiles(Path.Combine(Root, "infra"), "*.bicep", SearchOption.AllDirectories);
        var said = new List<string>();
        foreach (string file in files)
        {
            (int code, _, string errors) = CompiledTemplate.Bicep("lint", file);
            said.AddRange(
                errors
                    .Split('\n')
                    .Where(l => l.Contains(" : Error ", StringComparison.Ordinal) || l.Contains(" : Warning ", StringComparison.Ordinal))
            );
            Assert.True(code == 0 || said.Count > 0, errors);
        }

        Assert.True(said.Count == 0, string.Join("\n", said));
        Assert.Equal(JsonValueKind.Object, CompiledTemplate.Template.ValueKind);
    }

    [Fact]
    public void TheFunctionApp_StartsAfterItsRoleAssignments_AndReadsTheEndpointFromTheAccountModule()
    {
        string[] waitsFor = [.. CompiledTemplate.DependsOn("functionapp")];

        Assert.Contains("roles", waitsFor);
        Assert.Contains("openai-access", waitsFor);
        // The account's module is scoped from parameters alone (never a conditional module's output).
        string scope = CompiledTemplate.Module("openai-access").GetProperty("resourceGroup").GetString()!;
        Assert.DoesNotContain("reference(", scope, StringComparison.Ordinal);
        Assert.Contains("openai", CompiledTemplate.DependsOn("openai-access"));
    }

    [Fact]
    public void TheOpenAIAccount_HasItsOwnRegion_AmongThoseThatOfferFineTuning()
    {
        JsonElement parameter = CompiledTemplate.Template.GetProperty("parameters").GetProperty("openAILocation");
        string[] allowed = [.. parameter.GetProperty("allowedValues").EnumerateArray().Select(v => v.GetString()!)];

        // Standard training's regions are among them, the default is one, and a region without fine-tuning is not.
        Assert.Contains("northcentralus", allowed);
        Assert.Contains("swedencentral", allowed);
        Assert.Contains("eastus2", allowed);
        Assert.Contains(parameter.GetProperty("defaultValue").GetString(), allowed);
        // The regions are data: the catalogue's list, with its source, is the one the Bicep allows.
        Assert.Equal(FineTuning.Core.Catalog.ModelCatalog.Default.AzureGlobalTrainingRegions.Order(), allowed.Order());
        Assert.All(FineTuning.Core.Catalog.ModelCatalog.Default.AzureStandardTrainingRegions.Values.SelectMany(r => r), region =>
            Assert.Contains(region, allowed)
        );
        Assert.DoesNotContain("westcentralus", allowed);
        Assert.Contains("AZURE_OPENAI_LOCATION", Read("infra/main.parameters.json"), StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrainingType_TheBicepAllows_AreTheCataloguesAndTheAppAccepts()
    {
        JsonElement parameter = CompiledTemplate.Template.GetProperty("parameters").GetProperty("trainingType");
        string[] allowed = [.. parameter.GetProperty("allowedValues").EnumerateArray().Select(v => v.GetString()!)];

        Assert.Equal(FineTuning.Core.Catalog.ModelCatalog.Default.AzureTrainingTypes.Select(t => t.Name).Order(), allowed.Order());
        Assert.Contains(parameter.GetProperty("defaultValue").GetString(), allowed);
        Assert.All(allowed, type => Assert.Null(
                new FineTuning.OpenAI.ProviderOptions
                {
                    Kind = FineTuning.OpenAI.ProviderKind.AzureOpenAI,
                    Endpoint = new Uri("https://contoso.openai.azure.com/openai/v1/"),
                    TrainingType = type,
                }.Problem()
            ));
    }

    [Fact]
    public void HostJson_NamesItsSettingsFlat_SoTheyResolveFromEnvironmentVariables()
    {
        // App settings arrive as environment variables, where __ becomes ':'; host.json's %token% is looked up as written.
        string[] tokens = [.. Percent().Matches(Read("host.json")).Select(m => m.Groups[1].Value)];

        Assert.Contains("TASKHUB_NAME", tokens);
        Assert.All(tokens, t => Assert.DoesNotContain("__", t, StringComparison.Ordinal));
        Assert.All(tokens, t => Assert.Contains(t, AppSettings()));
    }

    [Fact]
    public void UndeliverableDrops_AreDeadLettered_ByTheTopicsOwnIdentity()
    {
        JsonElement subscription = CompiledTemplate
            .ResourcesOf("eventgrid", "Microsoft.EventGrid/systemTopics/eventSubscriptions")
            .Single()
            .GetProperty("properties");
        JsonElement topic = CompiledTemplate.ResourcesOf("eventgrid", "Microsoft.EventGrid/systemTopics").Single();
        JsonElement deadLetter = subscription.GetProperty("deadLetterWithResourceIdentity");
        Assert.Single(CompiledTemplate.ResourcesOf("eventgrid", "Microsoft.Authorization/roleAssignments"));
        string role = CompiledTemplate.Module("eventgrid").GetRawText();
        string containers = CompiledTemplate.Module("storage").GetRawText();

        Assert.Equal("SystemAssigned", topic.GetProperty("identity").GetProperty("type").GetString());
        Assert.Equal("SystemAssigned", deadLetter.GetProperty("identity").GetProperty("type").GetString());
        Assert.Equal(
            "deadletter",
            deadLetter.GetProperty("deadLetterDestination").GetProperty("properties").GetProperty("blobContainerName").GetString()
        );
        Assert.Contains("\"deadletter\"", containers, StringComparison.Ordinal);
        Assert.Contains("ba92f5b4-2d11-453d-a403-e96b0029c9fe", role, StringComparison.Ordinal); // Storage Blob Data Contributor
        Assert.True(subscription.GetProperty("retryPolicy").GetProperty("maxDeliveryAttempts").GetInt32() > 1);
    }

    [Fact]
    public void TheApp_MayWriteTheAccountsDeployments_AndNothingMore_AndIsToldWhichAccount()
    {
        JsonElement role = Assert.Single(CompiledTemplate.ResourcesOf("openai-access", "Microsoft.Authorization/roleDefinitions"));
        // The compiled role names its actions by variable: read the module's variable.
        JsonElement listed = role.GetProperty("properties").GetProperty("permissions")[0].GetProperty("actions");
        Assert.Equal("[variables('deploymentActions')]", listed.GetString());
        string[] actions =
        [
            .. CompiledTemplate
                .Module("openai-access")
                .GetProperty("properties")
                .GetProperty("template")
                .GetProperty("variables")
                .GetProperty("deploymentActions")
                .EnumerateArray()
                .Select(a => a.GetString()!),
        ];
        JsonElement[] assignments = [.. CompiledTemplate.ResourcesOf("openai-access", "Microsoft.Authorization/roleAssignments")];

        // What ArmModelDeployments calls: GET, PUT and DELETE on accounts/{a}/deployments/{name}.
        Assert.Equal(
            [
                "Microsoft.CognitiveServices/accounts/read",
                "Microsoft.CognitiveServices/accounts/deployments/read",
                "Microsoft.CognitiveServices/accounts/deployments/write",
                "Microsoft.CognitiveServices/accounts/deployments/delete",
            ],
            actions
        );
        Assert.DoesNotContain(actions, a =>
            a.Contains("listKeys", StringComparison.OrdinalIgnoreCase) || a.EndsWith("/*", StringComparison.Ordinal)
        );
        Assert.Contains(assignments, a =>
            a.GetProperty("properties")
                .GetProperty("roleDefinitionId")
                .GetString()!
                .Contains("finetuning-deployments", StringComparison.Ordinal)
        );
        Assert.Contains("FineTuning__Deployments__AccountResourceId", AppSettings());
        Assert.Contains("FineTuning__Evaluation__BaseDeployment", AppSettings());
    }

    [Theory]
    [InlineData("diagnostics", 2)] // the function app and the blob service
    [InlineData("openai-access", 1)] // the Azure OpenAI account, in its own resource group
    public void TheAppStorageAndOpenAIAccount_SendTheirLogsToTheWorkspace(string module, int settings)
    {
        JsonElement[] diagnostics = [.. CompiledTemplate.ResourcesOf(module, "Microsoft.Insights/diagnosticSettings")];

        Assert.Equal(settings, diagnostics.Length);
        Assert.All(diagnostics, d =>
        {
            Assert.Contains("workspaceId", d.GetProperty("properties").GetProperty("workspaceId").GetString(), StringComparison.Ordinal);
            Assert.Equal("allLogs", d.GetProperty("properties").GetProperty("logs")[0].GetProperty("categoryGroup").GetString());
        });
        Assert.Contains(
            "workspaceId",
            CompiledTemplate.Module(module).GetProperty("properties").GetProperty("parameters").GetRawText(),
            StringComparison.Ordinal
        );
    }

    [Fact]
    public void NothingInTheTemplate_GrantsOrReadsAStorageKey()
    {
        string template = CompiledTemplate.Template.GetRawText();
        JsonElement storage = CompiledTemplate.ResourcesOf("storage", "Microsoft.Storage/storageAccounts").Single();

        Assert.False(storage.GetProperty("properties").GetProperty("allowSharedKeyAccess").GetBoolean());
        Assert.DoesNotContain("AccountKey=", template, StringComparison.Ordinal);
        // The one listKeys is the app's own blobs_extension system key, which Event Grid's webhook must present.
        Assert.All(Regex.Matches(template, @"listKeys\((.{0,160})").Select(m => m.Groups[1].Value), call =>
            Assert.Contains("/host/default", call, StringComparison.Ordinal)
        );
    }

    [Fact]
    public void EverySettingTheHostReads_IsSetByTheBicep()
    {
        HashSet<string> set = AppSettings();
        var needed = new List<string> { "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential" };

        // Binding connections (identity-based: <name>__blobServiceUri and friends).
        foreach (Match m in ConnectionName().Matches(FunctionsSource()))
            needed.Add($"{m.Groups[1].Value}__blobServiceUri");
        // %Settings% in host.json.
        foreach (Match m in Percent().Matches(Read("host.json")))
            needed.Add(m.Groups[1].Value);
        // FineTuning:Storage (StorageOptions in the Functions host).
        string options = Read("FineTuning.Functions/FineTuningHostExtensions.cs");
        foreach (Match m in UriProperty().Matches(options))
            needed.Add($"FineTuning__Storage__{m.Groups[1].Value}");
        // FineTuning:Provider: what an Azure OpenAI provider with Entra ID needs to pass ProviderOptions.Problem().
        needed.AddRange(["FineTuning__Provider__Kind", "FineTuning__Provider__Endpoint", "FineTuning__Provider__Auth"]);
        Assert.Null(
            new ProviderOptions
            {
                Kind = ProviderKind.AzureOpenAI,
                Auth = AzureAuth.EntraId,
                Endpoint = new Uri("https://x.openai.azure.com/openai/v1/"),
            }.Problem()
        );
        // DefaultAzureCredential with a user-assigned identity, and keyless telemetry.
        needed.AddRange(["AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);

        Assert.Contains("DatasetStorage__blobServiceUri", needed);
        Assert.Contains("TASKHUB_NAME", needed);
        string[] missing = [.. needed.Where(n => !set.Contains(n))];
        Assert.True(missing.Length == 0, "not set by infra: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryContainerAndTableTheCodeUses_IsCreated()
    {
        string storage = Read("infra/modules/storage.bicep");
        string core = string.Concat(
            Directory
                .GetFiles(Path.Combine(Root, "FineTuning.Core", "Workflow"), "*.cs", SearchOption.AllDirectories)
                .Select(File.ReadAllText)
        );
        var containers = new HashSet<string>(StringComparer.Ordinal) { "deploymentpackage" };
        // Blob names in the code: string literals "container/..." outside HTTP routes and content types.
        IEnumerable<string> lines = (core + FunctionsSource())
            .Split('\n')
            .Where(l =>
                !l.Contains("Route =", StringComparison.Ordinal)
                && !l.Contains("application/", StringComparison.Ordinal)
                && !l.Contains("/api/", StringComparison.Ordinal)
            );
        foreach (Match m in lines.SelectMany(l => BlobPrefix().Matches(l)))
            containers.Add(m.Groups[1].Value);
        var tables = TableConstant().Matches(Read("FineTuning.Functions/Storage/TableStore.cs")).Select(m => m.Groups[1].Value).ToList();

        Assert.Contains("runs", containers);
        Assert.Contains("datasets", containers);
        Assert.Equal(["runs", "models"], tables);
        string containerList = Regex.Match(storage, @"var containers = \[(.*?)\]").Groups[1].Value;
        string tableList = Regex.Match(storage, @"var tables = \[(.*?)\]").Groups[1].Value;
        Assert.All(containers, c => Assert.Contains($"'{c}'", containerList, StringComparison.Ordinal));
        Assert.All(tables, t => Assert.Contains($"'{t}'", tableList, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner")]
    [InlineData("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor")]
    [InlineData("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor")]
    [InlineData("a001fd3d-188f-4b5d-821b-7da978bf7442", "Cognitive Services OpenAI Contributor")]
    [InlineData("3913510d-42f4-4e42-8a64-420c390055eb", "Monitoring Metrics Publisher")]
    public void EveryRoleTheIdentityNeeds_IsAssignedWithAGuidNameAndACommentedId(string roleId, string roleName)
    {
        string bicep = AllBicep();

        Assert.Matches(new Regex($"'{roleId}'\\s*//\\s*{Regex.Escape(roleName)}"), bicep);
        Assert.Contains("name: guid(", bicep, StringComparison.Ordinal);
    }

    [Fact]
    public void StorageAndOpenAI_TurnOffKeys_AndTheAppUsesTheIdentity()
    {
        Assert.Contains("allowSharedKeyAccess: false", Read("infra/modules/storage.bicep"), StringComparison.Ordinal);
        Assert.Contains("disableLocalAuth: true", Read("infra/modules/openai.bicep"), StringComparison.Ordinal);
        Assert.Contains("DisableLocalAuth: true", Read("infra/modules/monitoring.bicep"), StringComparison.Ordinal);
        Assert.Contains("name: 'dotnet-isolated', version: '10.0'", Read("infra/modules/functionapp.bicep"), StringComparison.Ordinal);
        Assert.Contains("subjectEndsWith: '.jsonl'", Read("infra/modules/eventgrid.bicep"), StringComparison.Ordinal);
        Assert.Contains("Host.Functions.DatasetDrop", Read("infra/modules/eventgrid.bicep"), StringComparison.Ordinal);
        Assert.Contains("service", Read("azure.yaml"), StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey=", Read("local.settings.sample.json"), StringComparison.Ordinal);
    }

    [Fact]
    public void AzdHooks_ExistAndSwitchOnTheParameterThatSubscribesTheBlobTrigger()
    {
        string[] scripts = [.. HookScript().Matches(Read("azure.yaml")).Select(m => m.Groups[1].Value)];

        Assert.Equal(["infra/hooks/postdeploy.sh", "infra/hooks/postdeploy.ps1"], scripts);
        Assert.Contains("${ENABLE_BLOB_TRIGGER=false}", Read("infra/main.parameters.json"), StringComparison.Ordinal);
        foreach (string script in scripts)
        {
            Assert.Contains("azd env set ENABLE_BLOB_TRIGGER true", Read(script), StringComparison.Ordinal);
            Assert.Contains("azd provision --no-prompt", Read(script), StringComparison.Ordinal);
        }

        // The POSIX one parses.
        using var sh = System.Diagnostics.Process.Start(
            new System.Diagnostics.ProcessStartInfo("sh", ["-n", Path.Combine(Root, scripts[0])]) { RedirectStandardError = true }
        )!;
        string errors = sh.StandardError.ReadToEnd();
        sh.WaitForExit();
        Assert.True(sh.ExitCode == 0, errors);
    }

    [GeneratedRegex(@"run: \./([A-Za-z0-9_/.-]+)")]
    private static partial Regex HookScript();

    [GeneratedRegex(@"Connection = ""([A-Za-z0-9_]+)""")]
    private static partial Regex ConnectionName();

    [GeneratedRegex(@"%([A-Za-z0-9_]+)%")]
    private static partial Regex Percent();

    [GeneratedRegex(@"public Uri\? ([A-Za-z]+) \{ get; set; \}")]
    private static partial Regex UriProperty();

    [GeneratedRegex(@"""([a-z]+)/(?:\{|[a-z])")]
    private static partial Regex BlobPrefix();

    [GeneratedRegex(@"public const string [A-Za-z]+Table = ""([a-z]+)"";")]
    private static partial Regex TableConstant();
}

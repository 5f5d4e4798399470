using FineTuning.Core.Providers;
using FineTuning.OpenAI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineTuning.Tests.Providers;

public class ProviderOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddFineTuningProvider(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

    [Fact]
    public void Settings_BindFromTheFineTuningProviderSection()
    {
        using ServiceProvider services = Build(
            new()
            {
                ["FineTuning:Provider:Kind"] = "AzureOpenAI",
                ["FineTuning:Provider:Endpoint"] = "https://contoso.openai.azure.com/openai/v1/",
                ["FineTuning:Provider:Auth"] = "ApiKey",
                ["FineTuning:Provider:ApiKey"] = "placeholder",
                ["FineTuning:Provider:TrainingType"] = "GlobalStandard",
            }
        );

        ProviderOptions options = services.GetRequiredService<IOptions<ProviderOptions>>().Value;

        Assert.Equal(ProviderKind.AzureOpenAI, options.Kind);
        Assert.Equal(AzureAuth.ApiKey, options.Auth);
        Assert.Equal("GlobalStandard", options.TrainingType);
        Assert.IsType<OpenAIFineTuningProvider>(services.GetRequiredService<IFineTuningProvider>());
    }

    /// <summary>A credential that says it was asked (the port boundary: no Entra ID here).</summary>
    private sealed class AskedCredential : Azure.Core.TokenCredential
    {
        public override Azure.Core.AccessToken GetToken(
            Azure.Core.TokenRequestContext requestContext,
            CancellationToken cancellationToken
        ) => throw new InvalidOperationException("the host's credential was asked for a token");

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(
            Azure.Core.TokenRequestContext requestContext,
            CancellationToken cancellationToken
        ) => throw new InvalidOperationException("the host's credential was asked for a token");
    }

    [Fact]
    public async Task EntraId_UsesTheHostsOneCredential_NotASecondOneOfItsOwn()
    {
        ServiceCollection collection = new();
        collection.AddSingleton<Azure.Core.TokenCredential>(new AskedCredential());
        collection.AddFineTuningProvider(
            new ConfigurationBuilder()
                .AddInMemoryCollection(
                    new Dictionary<string, string?>
                    {
                        ["FineTuning:Provider:Kind"] = "AzureOpenAI",
                        ["FineTuning:Provider:Endpoint"] = "https://contoso.openai.azure.com/openai/v1/",
                        ["FineTuning:Provider:Auth"] = "EntraId",
                    }
                )
                .Build()
        );
        using ServiceProvider services = collection.BuildServiceProvider();

        var asked = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            services.GetRequiredService<IFineTuningProvider>().GetJobAsync("ftjob-1")
        );

        Assert.Equal("the host's credential was asked for a token", asked.Message);
    }

    [Theory]
    [InlineData("AzureOpenAI", "Global", "TrainingType (Global) must be one of Azure OpenAI's training types: Standard (")]
    [InlineData("AzureOpenAI", "globalstandard", "must be one of Azure OpenAI's training types")]
    [InlineData("Emulator", "Developr", "must be one of Azure OpenAI's training types")]
    [InlineData("OpenAI", "GlobalStandard", "TrainingType (GlobalStandard) is Azure OpenAI's; OpenAI refuses it")]
    public void TrainingType_IsOneOfAzures_AndOnlyForAzure(string kind, string trainingType, string message)
    {
        // Found when the host starts, not when the first job is refused after validation and uploads.
        using ServiceProvider services = Build(
            new()
            {
                ["FineTuning:Provider:Kind"] = kind,
                ["FineTuning:Provider:Endpoint"] = "https://contoso.openai.azure.com/openai/v1/",
                ["FineTuning:Provider:ApiKey"] = "placeholder",
                ["FineTuning:Provider:TrainingType"] = trainingType,
            }
        );

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() =>
            services.GetRequiredService<IOptions<ProviderOptions>>().Value
        );

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainingType_Empty_IsUnset()
    {
        using ServiceProvider services = Build(
            new()
            {
                ["FineTuning:Provider:Kind"] = "OpenAI",
                ["FineTuning:Provider:ApiKey"] = "placeholder",
                ["FineTuning:Provider:TrainingType"] = "",
            }
        );

        Assert.Null(services.GetRequiredService<IOptions<ProviderOptions>>().Value.TrainingType);
    }

    [Theory]
    [InlineData("AzureOpenAI", null, "Endpoint is required for Azure OpenAI")]
    [InlineData("OpenAI", null, "ApiKey is required for OpenAI")]
    public void MissingSettings_FailWithTheSettingToSet(string kind, string? endpoint, string message)
    {
        using ServiceProvider services = Build(new() { ["FineTuning:Provider:Kind"] = kind, ["FineTuning:Provider:Endpoint"] = endpoint });

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() =>
            services.GetRequiredService<IOptions<ProviderOptions>>().Value
        );

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }
}

using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineTuning.OpenAI;

/// <summary>Registers the provider from configuration section <c>FineTuning:Provider</c>, validated at start.</summary>
public static class ProviderServiceCollectionExtensions
{
    public static IServiceCollection AddFineTuningProvider(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProviderOptions>().Bind(configuration.GetSection(ProviderOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProviderOptions>, ProviderOptionsValidator>();
        services.AddSingleton<IFineTuningProvider>(sp =>
            OpenAIFineTuningProvider.Create(
                sp.GetRequiredService<IOptions<ProviderOptions>>().Value,
                // The host's one credential (its storage clients use the same): one token cache, one identity.
                credential: sp.GetService<Azure.Core.TokenCredential>(),
                loggerFactory: sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()
            )
        );
        return services;
    }

    /// <summary>Registers the evaluation's settings from section <c>FineTuning:Evaluation</c>, validated at start.</summary>
    public static IServiceCollection AddFineTuningEvaluation(this IServiceCollection services, IConfiguration configuration)
    {
        services
            .AddOptions<EvaluationOptions>()
            .Bind(configuration.GetSection(EvaluationOptions.Section))
            .Validate(o => o.Problem() is null, "FineTuning:Evaluation is not valid: see its settings in the README.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<EvaluationOptions>>().Value);
        return services;
    }

    /// <summary>
    /// Registers the deployments port from section <c>FineTuning:Deployments</c> (Azure Resource Manager with the host's
    /// credential) when it names an account; without one the host has nothing to deploy.
    /// </summary>
    public static IServiceCollection AddFineTuningDeployments(this IServiceCollection services, IConfiguration configuration)
    {
        DeploymentOptions options = configuration.GetSection(DeploymentOptions.Section).Get<DeploymentOptions>() ?? new DeploymentOptions();
        if (options.Problem() is { } problem)
            throw new InvalidOperationException(problem);
        services.AddSingleton(new Core.Workflow.Activities.DeploymentSettings(options.Sku, options.Capacity));
        if (options.AccountResourceId is not null)
        {
            services.AddSingleton<IModelDeployments>(sp => new ArmModelDeployments(options, sp.GetService<Azure.Core.TokenCredential>()));
        }

        return services;
    }

    private sealed class ProviderOptionsValidator : IValidateOptions<ProviderOptions>
    {
        public ValidateOptionsResult Validate(string? name, ProviderOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}

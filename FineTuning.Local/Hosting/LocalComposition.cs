using FineTuning.Core.Evaluation;
using FineTuning.OpenAI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FineTuning.Local.Hosting;

/// <summary>
/// The local host's settings, bound by section and validated at start: the provider (<c>FineTuning:Provider</c>), the
/// built-in emulator, the embedded runtime, and the diagnostics switch. One place; no raw configuration strings.
/// </summary>
public static class LocalComposition
{
    public static IServiceCollection AddFineTuningLocal(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ProviderOptions>().Bind(configuration.GetSection(ProviderOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProviderOptions>, ProviderValidator>();
        services
            .AddOptions<BuiltInEmulatorSettings>()
            .Bind(configuration.GetSection(BuiltInEmulatorSettings.Section))
            .Validate(
                s => s.Speed is > 0 and <= 1_000_000,
                "FineTuning__Emulator__Speed must be a number above 0 and at most 1,000,000 (how much faster than real time jobs run; "
                    + "default 100)."
            )
            .Validate(
                s => s.BaseSkill is >= 0 and <= 1 && s.FineTunedSkill is >= 0 and <= 1,
                "FineTuning__Emulator__BaseSkill and FineTuning__Emulator__FineTunedSkill must be between 0 and 1 (defaults 0.3 and 0.9)."
            )
            .ValidateOnStart();
        services
            .AddOptions<RuntimeSettings>()
            .Bind(configuration.GetSection(RuntimeSettings.Section))
            .Validate(
                s => s.MaxConcurrentActivities >= 1,
                "FineTuning__Runtime__MaxConcurrentActivities must be at least 1; the default is the number of cores."
            )
            .ValidateOnStart();
        services
            .AddOptions<DiagnosticsSettings>()
            .Bind(configuration.GetSection(DiagnosticsSettings.Section))
            .Validate(
                s => s.KillAt is null || s.KillPoint is not null,
                "FineTuning__Diagnostics__KillAt must be before|after:Kind:Name[:N] (say before:TaskCompleted:SubmitJob), or unset."
            )
            .ValidateOnStart();
        services.AddFineTuningEvaluation(configuration);
        services
            .AddOptions<DeploymentOptions>()
            .Bind(configuration.GetSection(DeploymentOptions.Section))
            .Validate(o => o.Problem() is null, "FineTuning:Deployments is not valid: see its settings in the README.")
            .ValidateOnStart();
        services.AddSingleton(provider => new LocalSettings(
            provider.GetRequiredService<IOptions<ProviderOptions>>().Value,
            provider.GetRequiredService<IOptions<BuiltInEmulatorSettings>>().Value,
            provider.GetRequiredService<IOptions<RuntimeSettings>>().Value,
            provider.GetRequiredService<IOptions<DiagnosticsSettings>>().Value
        )
        {
            Evaluation = provider.GetRequiredService<EvaluationOptions>(),
            Deployments = provider.GetRequiredService<IOptions<DeploymentOptions>>().Value,
        });
        return services;
    }

    /// <summary>The provider's own rules, except that the emulator without an endpoint is the built-in one.</summary>
    private sealed class ProviderValidator : IValidateOptions<ProviderOptions>
    {
        public ValidateOptionsResult Validate(string? name, ProviderOptions options) =>
            options is { Kind: ProviderKind.Emulator, Endpoint: null } || options.Problem() is not { } problem
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(problem);
    }

    /// <summary>
    /// The validated settings of <paramref name="configuration"/>; every problem at once, as an
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public static LocalSettings Settings(IConfiguration configuration)
    {
        using ServiceProvider services = new ServiceCollection().AddFineTuningLocal(configuration).BuildServiceProvider();
        try
        {
            services.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (Exception ex) when (Problems(ex) is { } problems)
        {
            throw new InvalidOperationException(problems, ex);
        }

        return services.GetRequiredService<LocalSettings>();
    }

    /// <summary>Every settings problem in a start-up failure, as one text; null when the failure is not about settings.</summary>
    public static string? Problems(Exception failure) =>
        failure is OptionsValidationException or AggregateException
            ? string.Join(
                " ",
                (failure is AggregateException many ? many.Flatten().InnerExceptions : [failure]).SelectMany(e =>
                    e is OptionsValidationException o ? o.Failures : [e.Message]
                )
            )
            : null;
}

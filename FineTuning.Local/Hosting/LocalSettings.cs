using FineTuning.Core.Evaluation;
using FineTuning.Local.Runtime;
using FineTuning.OpenAI;

namespace FineTuning.Local.Hosting;

/// <summary>The local host's settings groups, each bound from its section and validated (<see cref="LocalComposition"/>).</summary>
public sealed record LocalSettings(
    ProviderOptions Provider,
    BuiltInEmulatorSettings Emulator,
    RuntimeSettings Runtime,
    DiagnosticsSettings Diagnostics
)
{
    /// <summary>
    /// Section <c>FineTuning:Evaluation</c>: how the evaluation stage calls the models (see <see cref="EvaluationOptions"/>).
    /// </summary>
    public EvaluationOptions Evaluation { get; init; } = new();

    /// <summary>Section <c>FineTuning:Deployments</c>: the Azure OpenAI account to deploy to (none: nothing to deploy).</summary>
    public DeploymentOptions Deployments { get; init; } = new();
}

/// <summary>Section <c>FineTuning:Emulator</c>: the built-in emulator that runs jobs when no provider is configured.</summary>
public sealed class BuiltInEmulatorSettings
{
    public const string Section = "FineTuning:Emulator";

    /// <summary>How much faster than real time jobs run (<c>FineTuning__Emulator__Speed</c>; above 0, at most 1,000,000).</summary>
    public double Speed { get; set; } = 100;

    /// <summary>
    /// How often the emulated base model answers a held-out row right (<c>FineTuning__Emulator__BaseSkill</c>, 0 to 1;
    /// default 0.3): with <see cref="FineTunedSkill"/>, it decides what an evaluation on the emulator shows.
    /// </summary>
    public double BaseSkill { get; set; } = 0.3;

    /// <summary>How often an emulated fine-tuned model answers right (<c>FineTuning__Emulator__FineTunedSkill</c>; default 0.9).</summary>
    public double FineTunedSkill { get; set; } = 0.9;
}

/// <summary>Section <c>FineTuning:Runtime</c>: the embedded durable runtime.</summary>
public sealed class RuntimeSettings
{
    public const string Section = "FineTuning:Runtime";

    /// <summary>
    /// Activities running at once across all runs (<c>FineTuning__Runtime__MaxConcurrentActivities</c>; default: the
    /// number of cores).
    /// </summary>
    public int MaxConcurrentActivities { get; set; } = Environment.ProcessorCount;
}

/// <summary>
/// Section <c>FineTuning:Diagnostics</c>: fault injection for the reliability tests, and nothing else. With
/// <c>FineTuning__Diagnostics__KillAt=before|after:Kind:Name[:N]</c> (say <c>before:TaskCompleted:SubmitJob</c>: the job
/// was created, the history does not know it yet) the process kills itself outright at that point of a run's history.
/// </summary>
public sealed class DiagnosticsSettings
{
    public const string Section = "FineTuning:Diagnostics";

    public string? KillAt { get; set; }

    /// <summary>
    /// The kill point, or null when none is set or it is not of the form <c>before|after:Kind:Name</c> or
    /// <c>before|after:Kind:Name:N</c> (the Nth such event this process records, say the second <c>DeployModel</c>: the
    /// evaluation's deployment comes first).
    /// </summary>
    public (bool Before, HistoryKind Kind, string Name, int Occurrence)? KillPoint =>
        KillAt?.Split(':') is [var when and ("before" or "after"), var kind, var name, .. var rest]
        && Enum.TryParse(kind, out HistoryKind parsed)
        && name.Length > 0
        && Occurrence(rest) is int occurrence and >= 1
            ? (when == "before", parsed, name, occurrence)
            : null;

    /// <summary>The occurrence after the name: none is the first; anything but one whole number is 0 (no kill point).</summary>
    private static int Occurrence(string[] rest) =>
        rest switch
        {
            [] => 1,
            [var n] when int.TryParse(n, System.Globalization.CultureInfo.InvariantCulture, out int occurrence) => occurrence,
            _ => 0,
        };

    /// <summary>The runtime's hooks that kill this process at the kill point (none when no point is set).</summary>
    public DurableRuntimeOptions Apply(DurableRuntimeOptions options)
    {
        if (KillPoint is not { } point)
        {
            return options;
        }

        int seen = 0;
        Action<string, HistoryEvent> kill = (_, e) =>
        {
            if (e.Kind == point.Kind && e.Name == point.Name && Interlocked.Increment(ref seen) == point.Occurrence)
            {
                System.Diagnostics.Process.GetCurrentProcess().Kill();
            }
        };
        return point.Before ? options with { Recording = kill } : options with { Recorded = kill };
    }
}

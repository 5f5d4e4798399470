namespace FineTuning.Emulator;

/// <summary>How the emulator behaves: its key, its clock, and how long simulated jobs take.</summary>
public sealed record EmulatorOptions
{
    /// <summary>The key clients must send (Bearer or api-key); null accepts any non-empty key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The clock jobs advance on; tests pass a manual one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Simulated seconds per real second (the emulator's clock runs this much faster than <see cref="Time"/>).</summary>
    public double Speed { get; init; } = 10;

    /// <summary>Simulated seconds in validating_files, then in queued.</summary>
    public double ValidatingSeconds { get; init; } = 30;

    public double QueuedSeconds { get; init; } = 30;

    /// <summary>Training steps of a job, and simulated seconds per step.</summary>
    public int Steps { get; init; } = 10;

    public double SecondsPerStep { get; init; } = 20;

    /// <summary>
    /// Folder for a snapshot of files and jobs that survives restarts (null: memory only; uploads in progress are never
    /// kept).
    /// </summary>
    public string? StateDirectory { get; init; }

    /// <summary>Faults to inject into the next matching requests.</summary>
    public FaultPlan Faults { get; init; } = new();

    /// <summary>How often the emulator's models answer right (see <see cref="EmulatorSkill"/>).</summary>
    public EmulatorSkill Skill { get; init; } = new();

    /// <summary>Simulated seconds a new deployment is <c>Creating</c> before it is <c>Succeeded</c>.</summary>
    public double DeploymentSeconds { get; init; } = 120;

    /// <summary>How long a chat completion takes (0: at once; a benchmark sets a realistic latency).</summary>
    public TimeSpan AnswerDelay { get; init; }
}

/// <summary>
/// The emulator's notion of skill, seeded so every outcome can be driven: a model answers a prompt right with the
/// probability for its kind (base, or fine-tuned: an <c>ft:</c> id) and the row's topic (the <c>FineTuning-Topic</c>
/// header), drawn from a hash of the seed, the model and the messages, so the same question gets the same answer. An
/// answer says which it is (<c>[emulated:right]</c> or <c>[emulated:wrong]</c>), and the emulator's judge, given the
/// product's rubrics, scores right 1 and wrong 0 and prefers right to wrong (a tie when both are the same).
/// </summary>
public sealed record EmulatorSkill
{
    public double Base { get; init; } = 0.4;

    public double FineTuned { get; init; } = 0.7;

    /// <summary>Per topic, overriding <see cref="Base"/>.</summary>
    public IReadOnlyDictionary<string, double> BaseByTopic { get; init; } = new Dictionary<string, double>();

    /// <summary>Per topic, overriding <see cref="FineTuned"/>.</summary>
    public IReadOnlyDictionary<string, double> FineTunedByTopic { get; init; } = new Dictionary<string, double>();

    public ulong Seed { get; init; } = 17;

    public double For(bool fineTuned, string topic) =>
        fineTuned ? FineTunedByTopic.GetValueOrDefault(topic, FineTuned) : BaseByTopic.GetValueOrDefault(topic, Base);
}

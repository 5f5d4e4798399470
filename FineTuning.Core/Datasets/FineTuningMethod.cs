namespace FineTuning.Core.Datasets;

/// <summary>The training method a dataset is written for; each has its own row format.</summary>
public enum FineTuningMethod
{
    /// <summary>Detect the format from the rows (only as an option, never as a result).</summary>
    Auto = 0,

    /// <summary>Supervised fine-tuning on chat transcripts: <c>{"messages": [...]}</c>.</summary>
    Supervised,

    /// <summary>
    /// Direct preference optimisation: <c>{"input": {...}, "preferred_output": [...], "non_preferred_output":
    /// [...]}</c>.
    /// </summary>
    Dpo,

    /// <summary>Reinforcement fine-tuning: <c>{"messages": [... last from user], ...fields for graders}</c>.</summary>
    Reinforcement,
}

/// <summary>Wire names of <see cref="FineTuningMethod"/> as the provider and our CLI spell them.</summary>
public static class FineTuningMethods
{
    public static string ToWireName(this FineTuningMethod method) =>
        method switch
        {
            FineTuningMethod.Supervised => "supervised",
            FineTuningMethod.Dpo => "dpo",
            FineTuningMethod.Reinforcement => "reinforcement",
            _ => "auto",
        };

    public static bool TryParse(string? text, out FineTuningMethod method)
    {
        method = text?.Trim().ToLowerInvariant() switch
        {
            "auto" => FineTuningMethod.Auto,
            "supervised" or "sft" => FineTuningMethod.Supervised,
            "dpo" or "preference" => FineTuningMethod.Dpo,
            "reinforcement" or "rft" => FineTuningMethod.Reinforcement,
            _ => (FineTuningMethod)(-1),
        };
        return (int)method >= 0;
    }
}

namespace FineTuning.Core.Datasets;

/// <summary>Names used for topics.</summary>
public static class Topics
{
    /// <summary>The topic of rows that have none.</summary>
    public const string None = "(none)";
}

using FineTuning.Core.Hashing;

namespace FineTuning.Core.Datasets;

/// <summary>What one valid row contributes beyond the report: used by the splitter.</summary>
public readonly record struct ValidRow(long Line, ContentHash Hash, string Topic, bool Generated, bool ExcludedByMetadata)
{
    /// <summary>The row's top-level members (positions in its bytes), valid only while the handler runs.</summary>
    internal IReadOnlyList<(int NameStart, int NameLength, int ValueStart, int ValueLength)>? TopLevel { get; init; }
}

using System.Text.Json.Serialization;

namespace FineTuning.Core.Datasets;

/// <summary>How much a finding matters: an error makes the row (or the dataset) unusable; a warning does not.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Severity>))]
public enum Severity
{
    Warning,
    Error,
}

/// <summary>
/// One thing the validator found: a stable <paramref name="Code"/>, the 1-based <paramref name="Line"/> in the
/// original file (0 for the whole dataset), a JSON <paramref name="Path"/> inside the row and a plain sentence.
/// </summary>
public sealed record Finding(string Code, Severity Severity, long Line, string Path, string Message)
{
    /// <summary>Renders the finding the way people read it: <c>line 812, messages[3].role: ...</c>.</summary>
    public override string ToString()
    {
        string where = Line > 0 ? $"line {Line}" : "dataset";
        return Path.Length > 0 ? $"{where}, {Path}: {Message}" : $"{where}: {Message}";
    }

    internal static int Compare(Finding? a, Finding? b)
    {
        if (ReferenceEquals(a, b))
            return 0;
        if (a is null)
            return -1;
        if (b is null)
            return 1;
        int c = a.Line.CompareTo(b.Line);
        if (c != 0)
            return c;
        c = string.CompareOrdinal(a.Code, b.Code);
        if (c != 0)
            return c;
        c = string.CompareOrdinal(a.Path, b.Path);
        return c != 0 ? c : string.CompareOrdinal(a.Message, b.Message);
    }
}

using System.Text.Json;

namespace FineTuning.Core.Datasets;

/// <summary>Names used for topics.</summary>
public static class Topics
{
    /// <summary>The topic of rows that have none.</summary>
    public const string None = "(none)";

    /// <summary>
    /// A parsed row's topic at a dotted <paramref name="path"/> (<c>topic</c>, <c>metadata.topic</c>), as the validator
    /// reads it: a string as its text, another value as written, a missing or null one as <see cref="None"/>.
    /// </summary>
    public static string Read(JsonElement row, string path)
    {
        if (path.Length == 0)
        {
            return None;
        }

        JsonElement at = row;
        foreach (string step in path.Split('.'))
        {
            if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(step, out at))
            {
                return None;
            }
        }

        return at.ValueKind switch
        {
            JsonValueKind.String => at.GetString()!,
            JsonValueKind.Null or JsonValueKind.Undefined => None,
            _ => at.GetRawText(),
        };
    }
}

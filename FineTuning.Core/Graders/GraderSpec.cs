using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Graders;

/// <summary>
/// A reinforcement grader read from JSON, checked for type and shape, with every <c>{{ item.X }}</c> it references
/// (rows must carry those fields) and every <c>{{ sample.X }}</c>.
/// </summary>
public sealed partial class GraderSpec
{
    private static readonly string[] Types = ["string_check", "text_similarity", "score_model", "label_model", "python", "multi"];
    private static readonly string[] StringCheckOperations = ["eq", "ne", "like", "ilike"];
    private static readonly string[] SimilarityMetrics =
    [
        "fuzzy_match",
        "bleu",
        "gleu",
        "meteor",
        "cosine",
        "rouge_1",
        "rouge_2",
        "rouge_3",
        "rouge_4",
        "rouge_5",
        "rouge_l",
    ];
    private static readonly string[] Roles = ["system", "developer", "user", "assistant"];

    private GraderSpec(string source, JsonElement root, IReadOnlyList<Finding> findings, IReadOnlyList<string> itemReferences)
    {
        Source = source;
        Root = root;
        Findings = findings;
        ItemReferences = itemReferences;
    }

    /// <summary>Where the grader came from (a file name), for messages.</summary>
    public string Source { get; }

    /// <summary>The grader object (unwrapped from <c>{"grader": ...}</c> if it was wrapped).</summary>
    public JsonElement Root { get; }

    /// <summary>Problems with the grader itself; empty when it is valid.</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>Dotted paths under <c>item.</c> that every row must carry, e.g. <c>reference_answer</c> or <c>meta.id</c>.</summary>
    public IReadOnlyList<string> ItemReferences { get; }

    public bool IsValid => Findings.Count == 0;

    public string Type =>
        Root.ValueKind == JsonValueKind.Object && Root.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : "";

    /// <summary>Reads and checks a grader; malformed JSON becomes a finding, never an exception.</summary>
    public static GraderSpec Parse(string source, ReadOnlySpan<byte> json)
    {
        var findings = new List<Finding>();
        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(
                json,
                new JsonReaderOptions
                {
                    CommentHandling = JsonCommentHandling.Skip,
                    AllowTrailingCommas = true,
                    MaxDepth = 64,
                }
            );
            root = JsonElement.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            findings.Add(Problem(source, "", $"is not valid JSON: {ex.Message}"));
            return new GraderSpec(source, default, findings, []);
        }

        if (
            root.ValueKind == JsonValueKind.Object
            && root.TryGetProperty("grader", out JsonElement wrapped)
            && !root.TryGetProperty("type", out _)
        )
        {
            root = wrapped;
        }

        var references = new SortedSet<string>(StringComparer.Ordinal);
        CheckGrader(source, root, "", findings, references, depth: 0);
        return new GraderSpec(source, root, findings, references.ToList());
    }

    public static GraderSpec Load(string path) => Parse(Path.GetFileName(path), File.ReadAllBytes(path));

    private static void CheckGrader(
        string source,
        JsonElement g,
        string path,
        List<Finding> findings,
        SortedSet<string> references,
        int depth
    )
    {
        if (g.ValueKind != JsonValueKind.Object)
        {
            findings.Add(Problem(source, path, $"a grader must be a JSON object, not {Describe(g.ValueKind)}"));
            return;
        }

        string? type = RequireString(source, g, path, "type", findings);
        RequireString(source, g, path, "name", findings);
        switch (type)
        {
            case null:
                return;
            case "string_check":
                RequireTemplate(source, g, path, "input", findings, references);
                RequireTemplate(source, g, path, "reference", findings, references);
                RequireOneOf(source, g, path, "operation", StringCheckOperations, findings);
                break;
            case "text_similarity":
                RequireTemplate(source, g, path, "input", findings, references);
                RequireTemplate(source, g, path, "reference", findings, references);
                RequireOneOf(source, g, path, "evaluation_metric", SimilarityMetrics, findings);
                OptionalNumber(source, g, path, "pass_threshold", findings);
                break;
            case "score_model":
            case "label_model":
                RequireString(source, g, path, "model", findings);
                CheckModelInput(source, g, path, findings, references);
                if (type == "score_model")
                {
                    CheckRange(source, g, path, findings);
                    OptionalNumber(source, g, path, "pass_threshold", findings);
                }
                else
                {
                    CheckLabels(source, g, path, findings);
                }

                if (g.TryGetProperty("sampling_params", out JsonElement sp) && sp.ValueKind != JsonValueKind.Object)
                {
                    findings.Add(Problem(source, Join(path, "sampling_params"), "must be an object"));
                }

                break;
            case "python":
                RequireString(source, g, path, "source", findings);
                CollectReferences(source, g, path, findings, references);
                break;
            case "multi":
                CheckMulti(source, g, path, findings, references, depth);
                break;
            default:
                findings.Add(Problem(source, Join(path, "type"), $"\"{type}\" is not a grader type ({string.Join(", ", Types)})"));
                break;
        }
    }

    private static void CheckMulti(
        string source,
        JsonElement g,
        string path,
        List<Finding> findings,
        SortedSet<string> references,
        int depth
    )
    {
        string? formula = RequireString(source, g, path, "calculate_output", findings);
        if (!g.TryGetProperty("graders", out JsonElement graders) || graders.ValueKind != JsonValueKind.Object)
        {
            findings.Add(Problem(source, Join(path, "graders"), "a multi grader needs `graders`, an object of named graders"));
            return;
        }

        if (depth >= 4)
        {
            findings.Add(Problem(source, Join(path, "graders"), "multi graders nest at most 4 deep"));
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty sub in graders.EnumerateObject())
        {
            names.Add(sub.Name);
            CheckGrader(source, sub.Value, Join(Join(path, "graders"), sub.Name), findings, references, depth + 1);
        }

        if (names.Count == 0)
        {
            findings.Add(Problem(source, Join(path, "graders"), "holds no graders"));
        }

        if (formula is not null)
        {
            foreach (Match m in Identifier().Matches(formula))
            {
                if (!names.Contains(m.Value) && !FormulaFunctions.Contains(m.Value))
                {
                    findings.Add(
                        Problem(
                            source,
                            Join(path, "calculate_output"),
                            $"uses \"{m.Value}\", which is not one of the graders ({string.Join(", ", names)})"
                        )
                    );
                }
            }
        }
    }

    private static readonly HashSet<string> FormulaFunctions = new(StringComparer.Ordinal)
    {
        "min",
        "max",
        "abs",
        "floor",
        "ceil",
        "exp",
        "sqrt",
        "log",
    };

    private static void CheckModelInput(string source, JsonElement g, string path, List<Finding> findings, SortedSet<string> references)
    {
        if (!g.TryGetProperty("input", out JsonElement input) || input.ValueKind != JsonValueKind.Array || input.GetArrayLength() == 0)
        {
            findings.Add(Problem(source, Join(path, "input"), "a model grader needs `input`, a non-empty list of messages"));
            return;
        }

        int i = 0;
        foreach (JsonElement message in input.EnumerateArray())
        {
            string mpath = $"{Join(path, "input")}[{i++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                findings.Add(Problem(source, mpath, "must be a message object"));
                continue;
            }

            RequireOneOf(source, message, mpath, "role", Roles, findings);
            if (!message.TryGetProperty("content", out JsonElement content))
            {
                findings.Add(Problem(source, Join(mpath, "content"), "is missing"));
                continue;
            }

            CollectFromValue(source, content, Join(mpath, "content"), findings, references);
        }
    }

    private static void CheckRange(string source, JsonElement g, string path, List<Finding> findings)
    {
        if (!g.TryGetProperty("range", out JsonElement range))
        {
            return; // the provider's default range applies
        }

        if (
            range.ValueKind != JsonValueKind.Array
            || range.GetArrayLength() != 2
            || range[0].ValueKind != JsonValueKind.Number
            || range[1].ValueKind != JsonValueKind.Number
            || range[0].GetDouble() >= range[1].GetDouble()
        )
        {
            findings.Add(Problem(source, Join(path, "range"), "must be [min, max] with min < max"));
        }
    }

    private static void CheckLabels(string source, JsonElement g, string path, List<Finding> findings)
    {
        var labels = new HashSet<string>(StringComparer.Ordinal);
        if (
            !g.TryGetProperty("labels", out JsonElement l)
            || l.ValueKind != JsonValueKind.Array
            || l.GetArrayLength() == 0
            || l.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String)
        )
        {
            findings.Add(Problem(source, Join(path, "labels"), "a label_model grader needs `labels`, a non-empty list of strings"));
        }
        else
        {
            labels.UnionWith(l.EnumerateArray().Select(x => x.GetString()!));
        }

        if (!g.TryGetProperty("passing_labels", out JsonElement p) || p.ValueKind != JsonValueKind.Array || p.GetArrayLength() == 0)
        {
            findings.Add(Problem(source, Join(path, "passing_labels"), "a label_model grader needs `passing_labels`, a non-empty list"));
            return;
        }

        foreach (JsonElement x in p.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.String || (labels.Count > 0 && !labels.Contains(x.GetString()!)))
            {
                findings.Add(Problem(source, Join(path, "passing_labels"), $"{x.GetRawText()} is not one of the labels"));
            }
        }
    }

    private static string? RequireString(string source, JsonElement g, string path, string name, List<Finding> findings)
    {
        if (g.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
        {
            return v.GetString();
        }

        findings.Add(
            Problem(
                source,
                Join(path, name),
                g.TryGetProperty(name, out v) ? $"must be a non-empty string, not {Describe(v.ValueKind)}" : "is missing"
            )
        );
        return null;
    }

    private static void RequireTemplate(
        string source,
        JsonElement g,
        string path,
        string name,
        List<Finding> findings,
        SortedSet<string> references
    )
    {
        string? text = RequireString(source, g, path, name, findings);
        if (text is not null)
        {
            CollectFromString(source, text, Join(path, name), findings, references);
        }
    }

    private static void RequireOneOf(string source, JsonElement g, string path, string name, string[] allowed, List<Finding> findings)
    {
        string? value = RequireString(source, g, path, name, findings);
        if (value is not null && !allowed.Contains(value, StringComparer.Ordinal))
        {
            findings.Add(Problem(source, Join(path, name), $"\"{value}\" is not one of {string.Join(", ", allowed)}"));
        }
    }

    private static void OptionalNumber(string source, JsonElement g, string path, string name, List<Finding> findings)
    {
        if (g.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Number)
        {
            findings.Add(Problem(source, Join(path, name), $"must be a number, not {Describe(v.ValueKind)}"));
        }
    }

    private static void CollectReferences(string source, JsonElement g, string path, List<Finding> findings, SortedSet<string> references)
    {
        foreach (JsonProperty p in g.EnumerateObject())
        {
            CollectFromValue(source, p.Value, Join(path, p.Name), findings, references);
        }
    }

    private static void CollectFromValue(
        string source,
        JsonElement value,
        string path,
        List<Finding> findings,
        SortedSet<string> references
    )
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                CollectFromString(source, value.GetString()!, path, findings, references);
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement e in value.EnumerateArray())
                {
                    CollectFromValue(source, e, $"{path}[{i++}]", findings, references);
                }

                break;
            case JsonValueKind.Object:
                CollectReferences(source, value, path, findings, references);
                break;
        }
    }

    private static void CollectFromString(string source, string text, string path, List<Finding> findings, SortedSet<string> references)
    {
        foreach (Match m in Template().Matches(text))
        {
            string ns = m.Groups["ns"].Value;
            string rest = m.Groups["path"].Value;
            if (ns == "item")
            {
                if (rest.Length == 0)
                {
                    findings.Add(Problem(source, path, "{{ item }} must name a field, e.g. {{ item.answer }}"));
                }
                else
                {
                    references.Add(rest);
                }
            }
            else if (ns != "sample")
            {
                findings.Add(Problem(source, path, $"{m.Value} refers to \"{ns}\"; templates may use only item.* and sample.*"));
            }
        }
    }

    private static Finding Problem(string source, string path, string message) =>
        FindingCodes.Create(FindingCodes.InvalidGrader, 0, path.Length == 0 ? "grader" : "grader." + path, $"{source}: {message}");

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Describe(JsonValueKind kind) =>
        kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };

    [GeneratedRegex(
        @"\{\{\s*(?<ns>[A-Za-z_][A-Za-z0-9_]*)(?:\.(?<path>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*))?\s*\}\}",
        RegexOptions.CultureInvariant
    )]
    internal static partial Regex Template();

    [GeneratedRegex(@"[A-Za-z_][A-Za-z0-9_]*", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}

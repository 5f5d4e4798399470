using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FineTuning.Core.Graders;

/// <summary>The score of one grader on one sample, with the scores of sub-graders and any errors.</summary>
public sealed record GraderRunResult(double Reward, IReadOnlyDictionary<string, double> SubRewards, IReadOnlyList<string> Errors)
{
    /// <summary>Tokens the grader's models read (score_model and label_model graders run on the service; 0 here).</summary>
    public long ModelInputTokens { get; init; }

    /// <summary>Tokens the grader's models wrote.</summary>
    public long ModelOutputTokens { get; init; }
}

/// <summary>
/// Runs a grader on one sample and one item, locally. <c>string_check</c> and <c>text_similarity</c> (fuzzy_match,
/// bleu, rouge_1..5, rouge_l) are computed for real; the others follow documented stand-in rules, since they need a
/// model or a sandbox: gleu and meteor score as unigram F1, cosine as the cosine of word counts; score_model scores
/// <c>min + (max − min) × F1(sample, item text its prompt references)</c>; label_model answers its first passing label
/// when that F1 is at least 0.5 and its first other label otherwise; python graders are not executed (reward 0, an
/// error says so); multi graders evaluate <c>calculate_output</c> over their sub-graders' scores.
/// </summary>
public static partial class GraderRunner
{
    /// <summary>The grader and, for a multi grader, every sub-grader, depth first.</summary>
    public static IEnumerable<JsonElement> Graders(JsonElement grader)
    {
        yield return grader;
        if (
            Text(grader, "type") == "multi"
            && grader.TryGetProperty("graders", out JsonElement subs)
            && subs.ValueKind == JsonValueKind.Object
        )
            foreach (JsonProperty sub in subs.EnumerateObject())
            foreach (JsonElement inner in Graders(sub.Value))
                yield return inner;
    }

    /// <summary>The grader's type and, for a multi grader, every sub-grader's, depth first.</summary>
    public static IEnumerable<string> Types(JsonElement grader) => Graders(grader).Select(g => Text(g, "type"));

    /// <summary>
    /// Whether <see cref="Run"/> computes the grader as the service does: string checks and text similarity (and multi
    /// graders of only those). Model and python graders need the service's <c>/fine_tuning/alpha/graders/run</c>.
    /// </summary>
    public static bool IsExact(JsonElement grader) => Types(grader).All(t => t is "string_check" or "text_similarity" or "multi");

    public static GraderRunResult Run(JsonElement grader, string sample, JsonElement item)
    {
        var subs = new Dictionary<string, double>(StringComparer.Ordinal);
        var errors = new List<string>();
        double reward = Score(grader, sample, item, subs, errors);
        return new GraderRunResult(Math.Round(reward, 6), subs, errors);
    }

    private static double Score(JsonElement g, string sample, JsonElement item, Dictionary<string, double> subs, List<string> errors)
    {
        string type = Text(g, "type");
        switch (type)
        {
            case "string_check":
            {
                string input = Render(Text(g, "input"), sample, item),
                    reference = Render(Text(g, "reference"), sample, item);
                return Text(g, "operation") switch
                {
                    "eq" => input == reference ? 1 : 0,
                    "ne" => input != reference ? 1 : 0,
                    "like" => input.Contains(reference, StringComparison.Ordinal) ? 1 : 0,
                    "ilike" => input.Contains(reference, StringComparison.OrdinalIgnoreCase) ? 1 : 0,
                    string op => Fail(errors, $"unknown operation \"{op}\""),
                };
            }

            case "text_similarity":
            {
                string input = Render(Text(g, "input"), sample, item),
                    reference = Render(Text(g, "reference"), sample, item);
                string metric = Text(g, "evaluation_metric");
                return metric switch
                {
                    "fuzzy_match" => FuzzyMatch(input, reference),
                    "bleu" => Bleu(Words(input), Words(reference)),
                    "rouge_l" => RougeL(Words(input), Words(reference)),
                    "gleu" or "meteor" => Rouge(Words(input), Words(reference), 1),
                    "cosine" => Cosine(Words(input), Words(reference)),
                    _ when metric.StartsWith("rouge_", StringComparison.Ordinal)
                            && int.TryParse(metric.AsSpan(6), CultureInfo.InvariantCulture, out int n)
                            && n is >= 1 and <= 5 => Rouge(Words(input), Words(reference), n),
                    _ => Fail(errors, $"unknown evaluation_metric \"{metric}\""),
                };
            }

            case "score_model":
            case "label_model":
            {
                string prompt = g.TryGetProperty("input", out JsonElement input) ? RenderItemOnly(input, item) : "";
                double f1 = Rouge(Words(sample), Words(prompt), 1);
                if (type == "label_model")
                {
                    // The label is reported in errors-free metadata by the service; here the reward is 1 when it passes.
                    return f1 >= 0.5 ? 1 : 0;
                }

                (double min, double max) =
                    g.TryGetProperty("range", out JsonElement range)
                    && range.ValueKind == JsonValueKind.Array
                    && range.GetArrayLength() == 2
                        ? (range[0].GetDouble(), range[1].GetDouble())
                        : (0, 1);
                return min + ((max - min) * f1);
            }

            case "python":
                return Fail(errors, "python graders are not executed locally; run them on the service");

            case "multi":
            {
                if (!g.TryGetProperty("graders", out JsonElement graders) || graders.ValueKind != JsonValueKind.Object)
                {
                    return Fail(errors, "a multi grader needs graders");
                }

                var scores = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (JsonProperty sub in graders.EnumerateObject())
                {
                    scores[sub.Name] = Score(sub.Value, sample, item, subs, errors);
                    subs[sub.Name] = scores[sub.Name];
                }

                try
                {
                    return new Formula(Text(g, "calculate_output"), scores).Evaluate();
                }
                catch (FormatException ex)
                {
                    return Fail(errors, $"calculate_output: {ex.Message}");
                }
            }

            default:
                return Fail(errors, $"unknown grader type \"{type}\"");
        }
    }

    private static double Fail(List<string> errors, string message)
    {
        errors.Add(message);
        return 0;
    }

    private static string Text(JsonElement g, string name) =>
        g.ValueKind == JsonValueKind.Object && g.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : "";

    /// <summary>
    /// Fills <c>{{ item.x.y }}</c> from the item and <c>{{ sample.output_text }}</c> / <c>{{ sample.output_json.x
    /// }}</c> from the sample.
    /// </summary>
    public static string Render(string template, string sample, JsonElement item) =>
        GraderSpec
            .Template()
            .Replace(template, m =>
            {
                string ns = m.Groups["ns"].Value;
                string[] path = m.Groups["path"].Success ? m.Groups["path"].Value.Split('.') : [];
                if (ns == "item")
                {
                    return Lookup(item, path) is { } v ? AsText(v) : "";
                }

                if (ns == "sample" && path.Length > 0 && path[0] == "output_text")
                {
                    return sample;
                }

                if (ns == "sample" && path.Length > 0 && path[0] == "output_json")
                {
                    try
                    {
                        using JsonDocument json = JsonDocument.Parse(sample);
                        return Lookup(json.RootElement, path[1..]) is { } v ? AsText(v) : "";
                    }
                    catch (JsonException)
                    {
                        return "";
                    }
                }

                return m.Value;
            });

    /// <summary>The item's values a model grader's prompt references (<c>{{ item.x }}</c>), in order, space-separated.</summary>
    public static string RenderItemOnly(JsonElement input, JsonElement item)
    {
        var sb = new StringBuilder();
        foreach (Match m in GraderSpec.Template().Matches(input.GetRawText()))
        {
            if (m.Groups["ns"].Value == "item" && Lookup(item, m.Groups["path"].Value.Split('.')) is { } v)
            {
                sb.Append(AsText(v)).Append(' ');
            }
        }

        return sb.ToString();
    }

    private static JsonElement? Lookup(JsonElement e, string[] path)
    {
        foreach (string segment in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(segment, out e))
            {
                return null;
            }
        }

        return e;
    }

    private static string AsText(JsonElement v) => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();

    private static string[] Words(string text) => WordPattern().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToArray();

    /// <summary>1 − Levenshtein distance / the longer length (1 for two empty strings).</summary>
    public static double FuzzyMatch(string a, string b)
    {
        if (a.Length == 0 && b.Length == 0)
            return 1;
        int[] previous = Enumerable.Range(0, b.Length + 1).ToArray();
        int[] current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return 1 - ((double)previous[b.Length] / Math.Max(a.Length, b.Length));
    }

    /// <summary>Sentence BLEU up to 4-grams with add-one smoothing above unigrams and the brevity penalty.</summary>
    public static double Bleu(string[] candidate, string[] reference)
    {
        if (candidate.Length == 0 || reference.Length == 0)
            return 0;
        double logSum = 0;
        int orders = Math.Min(4, candidate.Length);
        for (int n = 1; n <= orders; n++)
        {
            Dictionary<string, int> c = NGrams(candidate, n),
                r = NGrams(reference, n);
            int matched = c.Sum(kv => Math.Min(kv.Value, r.GetValueOrDefault(kv.Key)));
            int total = Math.Max(1, candidate.Length - n + 1);
            double precision = n == 1 ? (double)matched / total : (matched + 1.0) / (total + 1.0);
            if (precision == 0)
                return 0;
            logSum += Math.Log(precision) / orders;
        }

        double brevity = candidate.Length >= reference.Length ? 1 : Math.Exp(1 - ((double)reference.Length / candidate.Length));
        return brevity * Math.Exp(logSum);
    }

    /// <summary>ROUGE-N F1 over word n-grams.</summary>
    public static double Rouge(string[] candidate, string[] reference, int n)
    {
        Dictionary<string, int> c = NGrams(candidate, n),
            r = NGrams(reference, n);
        int overlap = c.Sum(kv => Math.Min(kv.Value, r.GetValueOrDefault(kv.Key)));
        int cTotal = c.Values.Sum(),
            rTotal = r.Values.Sum();
        if (overlap == 0 || cTotal == 0 || rTotal == 0)
            return 0;
        double p = (double)overlap / cTotal,
            q = (double)overlap / rTotal;
        return 2 * p * q / (p + q);
    }

    /// <summary>ROUGE-L F1 from the longest common subsequence of words.</summary>
    public static double RougeL(string[] candidate, string[] reference)
    {
        if (candidate.Length == 0 || reference.Length == 0)
            return 0;
        int[,] lcs = new int[candidate.Length + 1, reference.Length + 1];
        for (int i = 1; i <= candidate.Length; i++)
        {
            for (int j = 1; j <= reference.Length; j++)
            {
                lcs[i, j] = candidate[i - 1] == reference[j - 1] ? lcs[i - 1, j - 1] + 1 : Math.Max(lcs[i - 1, j], lcs[i, j - 1]);
            }
        }

        int l = lcs[candidate.Length, reference.Length];
        if (l == 0)
            return 0;
        double p = (double)l / candidate.Length,
            q = (double)l / reference.Length;
        return 2 * p * q / (p + q);
    }

    private static double Cosine(string[] a, string[] b)
    {
        Dictionary<string, int> x = NGrams(a, 1),
            y = NGrams(b, 1);
        double dot = x.Sum(kv => (double)kv.Value * y.GetValueOrDefault(kv.Key));
        double norm = Math.Sqrt(x.Values.Sum(v => (double)v * v)) * Math.Sqrt(y.Values.Sum(v => (double)v * v));
        return norm == 0 ? 0 : dot / norm;
    }

    private static Dictionary<string, int> NGrams(string[] words, int n)
    {
        var grams = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= words.Length; i++)
        {
            string key = string.Join(' ', words, i, n);
            grams[key] = grams.GetValueOrDefault(key) + 1;
        }

        return grams;
    }

    [GeneratedRegex(@"\w+", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();

    /// <summary>Arithmetic over sub-grader scores: + − × ÷, parentheses, numbers, names, min/max/abs/floor/ceil/exp/sqrt/log.</summary>
    private sealed class Formula(string text, IReadOnlyDictionary<string, double> names)
    {
        private int _at;

        public double Evaluate()
        {
            double value = Sum();
            Skip();
            return _at == text.Length ? value : throw new FormatException($"unexpected '{text[_at]}' at {_at + 1}");
        }

        private double Sum()
        {
            double value = Product();
            while (true)
            {
                Skip();
                if (Eat('+'))
                    value += Product();
                else if (Eat('-'))
                    value -= Product();
                else
                    return value;
            }
        }

        private double Product()
        {
            double value = Unary();
            while (true)
            {
                Skip();
                if (Eat('*'))
                    value *= Unary();
                else if (Eat('/'))
                    value /= Unary();
                else
                    return value;
            }
        }

        private double Unary()
        {
            Skip();
            if (Eat('-'))
                return -Unary();
            if (Eat('('))
            {
                double inner = Sum();
                Skip();
                return Eat(')') ? inner : throw new FormatException("a ')' is missing");
            }

            int start = _at;
            if (_at < text.Length && (char.IsDigit(text[_at]) || text[_at] == '.'))
            {
                while (_at < text.Length && (char.IsDigit(text[_at]) || text[_at] == '.'))
                    _at++;
                return double.Parse(text.AsSpan(start, _at - start), CultureInfo.InvariantCulture);
            }

            while (_at < text.Length && (char.IsLetterOrDigit(text[_at]) || text[_at] == '_'))
                _at++;
            string name = text[start.._at];
            if (name.Length == 0)
                throw new FormatException($"a value is missing at {_at + 1}");
            Skip();
            if (Eat('('))
            {
                var args = new List<double> { Sum() };
                while (true)
                {
                    Skip();
                    if (Eat(','))
                        args.Add(Sum());
                    else if (Eat(')'))
                        break;
                    else
                        throw new FormatException($"a ')' is missing after {name}(");
                }

                return name switch
                {
                    "min" => args.Min(),
                    "max" => args.Max(),
                    "abs" => Math.Abs(args[0]),
                    "floor" => Math.Floor(args[0]),
                    "ceil" => Math.Ceiling(args[0]),
                    "exp" => Math.Exp(args[0]),
                    "sqrt" => Math.Sqrt(args[0]),
                    "log" => Math.Log(args[0]),
                    _ => throw new FormatException($"unknown function {name}"),
                };
            }

            return names.TryGetValue(name, out double v) ? v : throw new FormatException($"unknown grader \"{name}\"");
        }

        private bool Eat(char c)
        {
            if (_at < text.Length && text[_at] == c)
            {
                _at++;
                return true;
            }

            return false;
        }

        private void Skip()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
                _at++;
        }
    }
}

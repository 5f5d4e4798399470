namespace FineTuning.Core.Providers;

/// <summary>One row of a job's results file: the step and every metric column by name.</summary>
public sealed record ResultRow(int Step, IReadOnlyDictionary<string, double> Values)
{
    public double? TrainLoss => Get("train_loss");

    public double? TrainAccuracy => Get("train_accuracy", "train_mean_token_accuracy");

    public double? ValidLoss => Get("valid_loss", "validation_loss");

    /// <summary>The providers spell this column two ways; both are read.</summary>
    public double? ValidAccuracy => Get("valid_mean_token_accuracy", "validation_mean_token_accuracy");

    public double? TrainReward => Get("train_reward_mean", "train_reward");

    public double? ValidReward => Get("valid_reward_mean", "validation_reward_mean", "valid_reward");

    private double? Get(params string[] names)
    {
        foreach (string name in names)
        {
            if (Values.TryGetValue(name, out double v) && !double.IsNaN(v))
                return v;
        }

        return null;
    }
}

/// <summary>Reads a results CSV (<c>step,train_loss,...</c>); empty cells become missing values, not zeros.</summary>
public static class ResultsCsv
{
    public static IReadOnlyList<ResultRow> Parse(string csv)
    {
        string[] lines = csv.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
            return [];
        string[] header = lines[0].Split(',').Select(h => h.Trim()).ToArray();
        int stepColumn = Array.IndexOf(header, "step");
        var rows = new List<ResultRow>();
        foreach (string line in lines.Skip(1))
        {
            string[] cells = line.Split(',');
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int i = 0; i < Math.Min(cells.Length, header.Length); i++)
            {
                if (
                    double.TryParse(
                        cells[i],
                        System.Globalization.NumberStyles.Float,
                        System.Globalization.CultureInfo.InvariantCulture,
                        out double v
                    )
                )
                {
                    values[header[i]] = v;
                }
            }

            int step = stepColumn >= 0 && values.TryGetValue("step", out double s) ? (int)s : rows.Count + 1;
            rows.Add(new ResultRow(step, values));
        }

        return rows;
    }
}

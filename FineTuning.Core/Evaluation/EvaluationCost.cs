using FineTuning.Core.Catalog;

namespace FineTuning.Core.Evaluation;

/// <summary>What an evaluation's tokens cost (the estimate's and the report's), at the catalogue's inference prices.</summary>
public static class EvaluationCost
{
    /// <summary>What the tokens cost at the catalogue's inference prices, with a note for each model it has none for.</summary>
    public static (decimal? Cost, List<string> Notes) Of(EvaluationUsage tokens, EvaluationModels models, ModelCatalog catalog)
    {
        var notes = new List<string>();
        InferencePrices? Prices(string model, string role)
        {
            InferencePrices? prices = catalog.Find(model)?.InferencePrices;
            if (prices is null)
                notes.Add($"No inference price is known for the {role} ({model}): its tokens are not in the cost.");
            return prices;
        }

        InferencePrices? basePrices = Prices(models.BaseModel, "base model");
        InferencePrices? judgePrices = Prices(models.JudgeModel, "judge");
        decimal? cost =
            basePrices is null || judgePrices is null
                ? null
                : (
                    (tokens.BaseInput * basePrices.Input)
                    + (tokens.BaseOutput * basePrices.Output)
                    + (tokens.FineTunedInput * basePrices.FineTunedInput)
                    + (tokens.FineTunedOutput * basePrices.FineTunedOutput)
                    + (tokens.JudgeInput * judgePrices.Input)
                    + (tokens.JudgeOutput * judgePrices.Output)
                ) / 1_000_000m;
        return (cost is decimal c ? Math.Round(c, 4) : null, notes);
    }
}

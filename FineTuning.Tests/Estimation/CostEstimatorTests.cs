using FineTuning.Core.Catalog;
using FineTuning.Core.Datasets;
using FineTuning.Core.Estimation;

namespace FineTuning.Tests.Estimation;

public class CostEstimatorTests
{
    [Theory]
    [InlineData(5, 20)] // 5 × 3 < 100: 100 / 5
    [InlineData(3, 25)] // capped at 25
    [InlineData(10, 10)]
    [InlineData(33, 3)] // 99 < 100: 100 / 33 = 3
    [InlineData(34, 3)]
    [InlineData(8_333, 3)] // 24,999 ≤ 25,000
    [InlineData(8_334, 2)] // 25,002 > 25,000: 25,000 / 8,334 = 2
    [InlineData(30_000, 1)] // at least 1
    public void DefaultEpochs_FollowsTheCookbookRule(long examples, int epochs)
    {
        Assert.Equal(epochs, CostEstimator.DefaultEpochs(examples));
    }

    [Fact]
    public void Estimate_BillsCappedTokensTimesEpochsAtTheCatalogPrice()
    {
        // Three examples, one over gpt-35-turbo's 16,385-token limit: it is billed at the limit.
        string longText = string.Join(' ', Enumerable.Repeat("alpha beta gamma delta", 6000));
        string content = Rows.Jsonl([Rows.Chat("a", "b"), Rows.Chat("c", "d"), Rows.Chat(longText, "e")]);
        var options = new ValidationOptions { Model = "gpt-35-turbo-0125", MinExamples = 1 };

        DatasetReport report = Rows.Validate(content, options);
        CostEstimate estimate = CostEstimator.Estimate(report, ModelCatalog.Default, options.Model, epochs: 2);

        long small = report.Tokens.TokensPerExample!.Min;
        Assert.True(report.Tokens.TokensPerExample.Max > 16_385);
        Assert.Equal(16_385 + small + report.Tokens.TokensPerExample.Median, report.Tokens.BillableTokensPerEpoch);
        Assert.Equal(2 * report.Tokens.BillableTokensPerEpoch, estimate.BilledTokens);
        Assert.Equal(Math.Round(estimate.BilledTokens / 1_000_000m * 8.00m, 2), estimate.EstimatedCostUsd);
        Assert.Equal("given", estimate.EpochsSource);
    }

    [Fact]
    public void Estimate_SaysHowAzureBillsEachTrainingType()
    {
        // The catalogue's list price is OpenAI's; Azure bills by training type, and documents how the types compare.
        DatasetReport report = Rows.Validate(Rows.Jsonl(Enumerable.Range(0, 12).Select(i => Rows.Chat($"q{i}", $"a{i}"))));

        CostEstimate estimate = CostEstimator.Estimate(report, ModelCatalog.Default, null, null);

        Assert.NotNull(estimate.EstimatedCostUsd);
        string note = Assert.Single(estimate.Notes, n => n.StartsWith("Price: OpenAI's list price.", StringComparison.Ordinal));
        Assert.Equal(["Standard", "GlobalStandard", "Developer"], ModelCatalog.Default.AzureTrainingTypes.Select(t => t.Name));
        Assert.All(ModelCatalog.Default.AzureTrainingTypes, t => Assert.Contains($"{t.Name} ({t.Says})", note, StringComparison.Ordinal));
        Assert.Contains("10-30% below regional Standard", note, StringComparison.Ordinal);
        Assert.Contains("learn.microsoft.com", ModelCatalog.Default.AzureTrainingTypesSource, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_OfAPreviewModel_SaysWhyNoPriceIsKnown()
    {
        DatasetReport report = Rows.Validate(Rows.Jsonl([Rows.Chat("a", "b")]), new ValidationOptions { MinExamples = 1 });

        CostEstimate preview = CostEstimator.Estimate(report, ModelCatalog.Default, "gpt-5-2025-08-07", epochs: 1);
        CostEstimate unknown = CostEstimator.Estimate(report, ModelCatalog.Default, "gpt-99", epochs: 1);

        Assert.Null(preview.EstimatedCostUsd);
        Assert.Contains(preview.Notes, n =>
            n.Contains("by invitation only", StringComparison.Ordinal) && n.EndsWith("so no price is known.")
        );
        Assert.Contains("\"gpt-99\" is not in the model catalogue, so no price is known.", unknown.Notes);
    }

    [Fact]
    public void Estimate_DuplicatesAreBilledOnce()
    {
        string row = Rows.Chat("same", "row");
        DatasetReport once = Rows.Validate(Rows.Jsonl([row]), new ValidationOptions { MinExamples = 1 });
        DatasetReport twice = Rows.Validate(Rows.Jsonl([row, row]), new ValidationOptions { MinExamples = 1 });

        Assert.Equal(once.Tokens.BillableTokensPerEpoch, twice.Tokens.BillableTokensPerEpoch);
    }

    [Fact]
    public void Estimate_Reinforcement_ShowsInputsAndSaysItIsPricedPerHour()
    {
        DatasetReport report = Rows.Validate(Rows.Jsonl(Enumerable.Range(0, 10).Select(i => Rows.Rft($"q{i}", "a"))));

        CostEstimate estimate = CostEstimator.Estimate(report, ModelCatalog.Default, null, null);

        Assert.Null(estimate.EstimatedCostUsd);
        Assert.Equal(100m, estimate.PricePerHour);
        Assert.Contains(estimate.Notes, n => n.Contains("per training hour", StringComparison.Ordinal));
        Assert.True(estimate.BilledTokens > 0);
    }

    [Fact]
    public void Estimate_BillsTheTrainingShare_NotTheValidationFile()
    {
        DatasetReport report = Rows.Validate(Rows.Jsonl(Rows.ManyChats(50)));

        CostEstimate all = CostEstimator.Estimate(report, ModelCatalog.Default, null, epochs: 3, trainRatio: 1);
        CostEstimate share = CostEstimator.Estimate(report, ModelCatalog.Default, null, epochs: 3, trainRatio: 0.8);

        Assert.Equal(50, all.TrainedExamples);
        Assert.Equal(40, share.TrainedExamples);
        Assert.Equal(Math.Round(report.Tokens.BillableTokensPerEpoch * 0.8), share.BillableTokensPerEpoch);
        Assert.True(share.BilledTokens < all.BilledTokens);
        Assert.Contains(share.Notes, n => n.Contains("the validation file is not billed", StringComparison.Ordinal));
    }
}

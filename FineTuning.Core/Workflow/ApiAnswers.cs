using FineTuning.Core.Datasets;
using FineTuning.Core.Estimation;

namespace FineTuning.Core.Workflow;

/// <summary>The answer of both hosts' APIs to a cancel request.</summary>
public sealed record CancelRequested(string Id, string Cancel = "requested");

/// <summary>An estimate with the validation it was made from (both hosts' APIs, and <c>finetune estimate --json</c>).</summary>
public sealed record EstimateAnswer(CostEstimate Estimate, DatasetReport Validation);

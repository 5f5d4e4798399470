using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using FineTuning.Core.Api;
using FineTuning.Core.Datasets;
using FineTuning.Core.Providers;
using FineTuning.Core.Splitting;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;

namespace FineTuning.Core.Serialization;

/// <summary>
/// The JSON shape of reports, runs and workflow messages (camelCase, enums as camelCase strings), shared by the CLI, the
/// hosts and the blobs. Every type is described at build time (<see cref="CoreJsonContext"/>): no reflection when a
/// command starts, and the same behaviour in a natively compiled <c>finetune</c>, which has no reflection to fall back on.
/// </summary>
public static class ReportSerializer
{
    public static JsonSerializerOptions Options { get; } = Create(ReflectionAsFallback(CoreJsonContext.Default));

    /// <summary>
    /// Where reflection is available (everywhere but a natively compiled build), types without a build-time contract
    /// (the Functions host's ad hoc responses, a test's own messages) are described by reflection after
    /// <paramref name="resolver"/>.
    /// </summary>
    [UnconditionalSuppressMessage(
        "Trimming",
        "IL2026",
        Justification = "Only where reflection-based serialisation is enabled; a native build turns the switch off and drops the branch."
    )]
    [UnconditionalSuppressMessage(
        "AOT",
        "IL3050",
        Justification = "Only where reflection-based serialisation is enabled; a native build turns the switch off and drops the branch."
    )]
    public static IJsonTypeInfoResolver ReflectionAsFallback(IJsonTypeInfoResolver resolver) =>
        JsonSerializer.IsReflectionEnabledByDefault ? JsonTypeInfoResolver.Combine(resolver, new DefaultJsonTypeInfoResolver()) : resolver;

    /// <summary>The shared settings over <paramref name="resolver"/>: a host adds a context for its own types.</summary>
    public static JsonSerializerOptions Create(IJsonTypeInfoResolver resolver) =>
        new(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters =
            {
                new JsonStringEnumConverter<Severity>(JsonNamingPolicy.CamelCase),
                new JsonStringEnumConverter<FindingScope>(JsonNamingPolicy.CamelCase),
                new JsonStringEnumConverter<FineTuningMethod>(JsonNamingPolicy.CamelCase),
                new JsonStringEnumConverter<RunStatus>(JsonNamingPolicy.CamelCase),
                new JsonStringEnumConverter<Evaluation.Preference>(JsonNamingPolicy.CamelCase),
                new JsonStringEnumConverter<Evaluation.EvaluationOutcome>(JsonNamingPolicy.CamelCase),
            },
            NumberHandling = JsonNumberHandling.Strict,
            TypeInfoResolver = resolver,
        };

    /// <summary>The contract of <typeparamref name="T"/> under <paramref name="options"/> (<see cref="Options"/> when null).</summary>
    public static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions? options = null) =>
        (JsonTypeInfo<T>)(options ?? Options).GetTypeInfo(typeof(T));

    /// <summary>The contract of the value's own type (an untyped workflow message), or of null.</summary>
    public static JsonTypeInfo TypeInfoOf(object? value, JsonSerializerOptions? options = null) =>
        (options ?? Options).GetTypeInfo(value?.GetType() ?? typeof(object));

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, TypeInfo<T>());

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize(json, TypeInfo<T>());
}

/// <summary>The build-time JSON contracts of FineTuning.Core's reports, records and workflow messages.</summary>
[JsonSerializable(typeof(object))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(DatasetReport))]
[JsonSerializable(typeof(Evaluation.EvaluatedRow))]
[JsonSerializable(typeof(JsonElement[]))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonNode))]
[JsonSerializable(typeof(Evaluation.EvaluationSummary))]
[JsonSerializable(typeof(ShardReport))]
[JsonSerializable(typeof(SplitReport))]
[JsonSerializable(typeof(RunRequest))]
[JsonSerializable(typeof(RunRow))]
[JsonSerializable(typeof(ModelRow))]
[JsonSerializable(typeof(RunOutcome))]
[JsonSerializable(typeof(RunProgress))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(CancelRequested))]
[JsonSerializable(typeof(ControlRequested))]
[JsonSerializable(typeof(PromotionStarted))]
[JsonSerializable(typeof(RunDetail))]
[JsonSerializable(typeof(CheckStatus))]
[JsonSerializable(typeof(EstimateAnswer))]
[JsonSerializable(typeof(MonitorInput))]
[JsonSerializable(typeof(MonitorResult))]
[JsonSerializable(typeof(PlanShardsInput))]
[JsonSerializable(typeof(ShardPlan))]
[JsonSerializable(typeof(ValidateShardInput))]
[JsonSerializable(typeof(ShardValidated))]
[JsonSerializable(typeof(MergeValidationInput))]
[JsonSerializable(typeof(ValidationSummary))]
[JsonSerializable(typeof(SplitInput))]
[JsonSerializable(typeof(SplitSummary))]
[JsonSerializable(typeof(ProviderFile))]
[JsonSerializable(typeof(JobRequest))]
[JsonSerializable(typeof(JobSnapshot))]
[JsonSerializable(typeof(CollectResultsInput))]
[JsonSerializable(typeof(ResultsSummary))]
[JsonSerializable(typeof(ResultsReport))]
[JsonSerializable(typeof(Evaluation.EvaluationInput))]
[JsonSerializable(typeof(Evaluation.EvaluationPlan))]
[JsonSerializable(typeof(Evaluation.EvaluateBatchInput))]
[JsonSerializable(typeof(Evaluation.BatchEvaluated))]
[JsonSerializable(typeof(Evaluation.ReportEvaluationInput))]
[JsonSerializable(typeof(Evaluation.EvaluationDigest))]
[JsonSerializable(typeof(Evaluation.EvaluationReport))]
[JsonSerializable(typeof(ModelStageInput))]
[JsonSerializable(typeof(StageChanged))]
[JsonSerializable(typeof(PromotionRequest))]
[JsonSerializable(typeof(PromotionOutcome))]
[JsonSerializable(typeof(DatasetInfo))]
[JsonSerializable(typeof(IReadOnlyList<DatasetInfo>))]
[JsonSerializable(typeof(CheckGraderInput))]
[JsonSerializable(typeof(GraderChecked))]
[JsonSerializable(typeof(DeployInput))]
[JsonSerializable(typeof(DeploymentState))]
[JsonSerializable(typeof(Decision))]
[JsonSerializable(typeof(IReadOnlyList<ModelRow>))]
public sealed partial class CoreJsonContext : JsonSerializerContext;

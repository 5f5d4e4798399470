using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using FineTuning.Core.Api;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Splitting;
using FineTuning.Core.Workflow;
using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;

namespace FineTuning.Local;

/// <summary>
/// The JSON of the local host: the shared report settings over the build-time contracts of FineTuning.Core and of this
/// project (CLI output, HTTP answers, the embedded runtime's own records). Nothing here needs reflection, so a natively
/// compiled <c>finetune</c> writes the same bytes.
/// </summary>
internal static class LocalJson
{
    public static JsonSerializerOptions Options { get; } =
        ReportSerializer.Create(
            ReportSerializer.ReflectionAsFallback(JsonTypeInfoResolver.Combine(LocalJsonContext.Default, CoreJsonContext.Default))
        );

    public static JsonTypeInfo<T> TypeInfo<T>() => ReportSerializer.TypeInfo<T>(Options);

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, TypeInfo<T>());

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize(json, TypeInfo<T>());
}

/// <summary>A run as the local API shows it: its row, whether this process runs it, its progress and its reports.</summary>
/// <summary>A split with the validation it was made from (no split when the dataset is not fit).</summary>
internal sealed record SplitAnswer(SplitReport? Split, DatasetReport Validation);

[JsonSerializable(typeof(ActivityFailedException.Failure))]
[JsonSerializable(typeof(OrchestrationInstance.ChildStart))]
[JsonSerializable(typeof(SplitAnswer))]
[JsonSerializable(typeof(IReadOnlyList<RunRow>))]
[JsonSerializable(typeof(IReadOnlyList<ModelRow>))]
internal sealed partial class LocalJsonContext : JsonSerializerContext;

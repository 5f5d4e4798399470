using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace FineTuning.Core.Datasets;

/// <summary>The JSON shape of reports (camelCase, enums as strings), shared by the CLI, the hosts and the blobs.</summary>
public static class ReportSerializer
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.Strict,
        // The dataset report's contract is generated at build time (no reflection when `finetune validate` starts); other
        // types are described by reflection as before.
        TypeInfoResolver = JsonTypeInfoResolver.Combine(ReportJsonContext.Default, new DefaultJsonTypeInfoResolver()),
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options);
}

[JsonSerializable(typeof(DatasetReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

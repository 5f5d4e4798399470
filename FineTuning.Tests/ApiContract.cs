using System.Text.Json.Serialization.Metadata;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;

namespace FineTuning.Tests;

/// <summary>The JSON members of an API record as both hosts write it (the build-time contract, camelCase), in order.</summary>
public static class ApiContract
{
    public static IEnumerable<string> PropertiesOf<T>() =>
        ((JsonTypeInfo)CoreJsonContext.Default.GetTypeInfo(typeof(T))!).Properties.Select(p =>
            ReportSerializer.Options.PropertyNamingPolicy!.ConvertName(p.Name)
        );
}

using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;
using FineTuning.Local;

namespace FineTuning.Tests.Workflow;

/// <summary>
/// The build-time JSON contracts (what a natively compiled finetune has, and what every host now uses first) must read
/// like the reflection-based ones did: a member the JSON leaves out keeps the default its type gives it.
/// </summary>
public class JsonContractTests
{
    public static TheoryData<Type> ContractTypes()
    {
        var data = new TheoryData<Type>();
        foreach (
            Type type in new[] { typeof(CoreJsonContext), typeof(LocalJsonContext) }
                .SelectMany(c => c.GetCustomAttributesData())
                .Where(a => a.AttributeType == typeof(JsonSerializableAttribute))
                .Select(a => (Type)a.ConstructorArguments[0].Value!)
                .Where(t =>
                    t.IsClass
                    && !t.IsAbstract
                    && t != typeof(string)
                    && t.GetConstructor(Type.EmptyTypes) is not null
                    && !typeof(System.Collections.IEnumerable).IsAssignableFrom(t)
                )
                // Reports are only ever read whole (every member required); records and requests may be read in part.
                .Where(t => RequiredMembers(t).All(p => p.PropertyType == typeof(string)))
                .Distinct()
        )
        {
            data.Add(type);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void OmittedMembers_KeepTheirDefaults(Type type)
    {
        // The required members are given (a string each); everything else is left out of the JSON.
        object fresh = Activator.CreateInstance(type)!;
        var given = new JsonObject();
        foreach (PropertyInfo property in RequiredMembers(type))
        {
            property.SetValue(fresh, "x");
            given[LocalJson.Options.PropertyNamingPolicy!.ConvertName(property.Name)] = "x";
        }

        object read = JsonSerializer.Deserialize(given.ToJsonString(), LocalJson.Options.GetTypeInfo(type))!;

        Assert.Equal(
            JsonSerializer.Serialize(fresh, LocalJson.Options.GetTypeInfo(type)),
            JsonSerializer.Serialize(read, LocalJson.Options.GetTypeInfo(type))
        );
    }

    private static IEnumerable<PropertyInfo> RequiredMembers(Type type) =>
        type.GetProperties().Where(p => p.IsDefined(typeof(RequiredMemberAttribute)));

    [Fact]
    public void ARunRequestOfJustADataset_AsksForTheDefaults()
    {
        RunRequest request = ReportSerializer.Deserialize<RunRequest>("""{"datasetBlob": "datasets/a.jsonl"}""")!;

        Assert.Equal("auto", request.Method);
        Assert.Equal(0.9, request.TrainRatio);
        Assert.Equal(10, request.MinExamples);
        Assert.Empty(request.Problems());
    }
}

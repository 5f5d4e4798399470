using System.Reflection;
using FineTuning.Core.Datasets;
using FineTuning.Core.Serialization;
using FineTuning.Core.Workflow;
using FineTuning.Functions.Activities;
using FineTuning.Functions.Orchestrators;
using Microsoft.Azure.Functions.Worker;

namespace FineTuning.Tests.Functions;

/// <summary>
/// The Functions host's <c>[Function]</c> shells of the workflow catalogue, found by their function names; and the
/// tests that hold every catalogue entry to a shell of the right shape and to a build-time JSON contract.
/// </summary>
public sealed class FunctionsShells
{
    private static readonly Dictionary<string, MethodInfo> Functions = typeof(WorkflowActivityFunctions)
        .Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
        .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
        .ToDictionary(m => m.GetCustomAttribute<FunctionAttribute>()!.Name, StringComparer.Ordinal);

    /// <summary>
    /// The activity function named <paramref name="name"/>: an instance method of <see
    /// cref="WorkflowActivityFunctions"/>.
    /// </summary>
    public static MethodInfo Activity(string name) =>
        Functions.TryGetValue(name, out MethodInfo? method) && method.DeclaringType == typeof(WorkflowActivityFunctions)
            ? method
            : throw new InvalidOperationException(
                $"The Functions host has no activity function '{name}': add a [Function(nameof({name}))] shell to "
                    + "WorkflowActivityFunctions."
            );

    /// <summary>
    /// The orchestrator function named <paramref name="name"/>: a static method of <see
    /// cref="FineTuningOrchestration"/>.
    /// </summary>
    public static MethodInfo Orchestrator(string name) =>
        Functions.TryGetValue(name, out MethodInfo? method) && method.DeclaringType == typeof(FineTuningOrchestration) && method.IsStatic
            ? method
            : throw new InvalidOperationException(
                $"The Functions host has no orchestrator function '{name}': add a [Function] shell to FineTuningOrchestration."
            );

    public static TheoryData<string> ActivityNames() => [.. WorkflowCatalog.Activities.Select(a => a.Name)];

    public static TheoryData<string> OrchestratorNames() => [.. WorkflowCatalog.Orchestrators.Select(o => o.Name)];

    [Theory]
    [MemberData(nameof(ActivityNames))]
    public void EveryCatalogueActivity_HasAnActivityFunctionShellOfItsTypes(string name)
    {
        WorkflowActivity activity = WorkflowCatalog.Activities.Single(a => a.Name == name);

        MethodInfo shell = Activity(name);

        ParameterInfo[] parameters = shell.GetParameters();
        Assert.True(
            parameters.Length == 2
                && parameters[0].ParameterType == activity.Input
                && parameters[0].GetCustomAttribute<ActivityTriggerAttribute>() is not null,
            $"{name}: the shell's first parameter must be [ActivityTrigger] {activity.Input.Name}"
        );
        Assert.True(
            parameters[1].ParameterType == typeof(CancellationToken),
            $"{name}: the shell's second parameter must be the CancellationToken"
        );
        Assert.True(
            shell.ReturnType == typeof(Task<>).MakeGenericType(activity.Output),
            $"{name}: the shell must return Task<{activity.Output.Name}>"
        );
    }

    [Theory]
    [MemberData(nameof(OrchestratorNames))]
    public void EveryCatalogueOrchestrator_HasAnOrchestratorFunctionShellOfItsTypes(string name)
    {
        WorkflowOrchestrator orchestrator = WorkflowCatalog.Orchestrators.Single(o => o.Name == name);

        MethodInfo shell = Orchestrator(name);

        Assert.NotNull(Assert.Single(shell.GetParameters()).GetCustomAttribute<OrchestrationTriggerAttribute>());
        Assert.Equal(typeof(Task<>).MakeGenericType(orchestrator.Output), shell.ReturnType);
    }

    [Fact]
    public void EveryWorkflowFunctionOfTheHost_IsInTheCatalogue()
    {
        string[] declared =
        [
            .. Functions
                .Values.Where(m =>
                    m.DeclaringType == typeof(WorkflowActivityFunctions) || m.DeclaringType == typeof(FineTuningOrchestration)
                )
                .Select(m => m.GetCustomAttribute<FunctionAttribute>()!.Name)
                .Order(StringComparer.Ordinal),
        ];

        Assert.Equal(
            WorkflowCatalog
                .Activities.Select(a => a.Name)
                .Concat(WorkflowCatalog.Orchestrators.Select(o => o.Name))
                .Order(StringComparer.Ordinal),
            declared
        );
    }

    [Theory]
    [MemberData(nameof(ActivityNames))]
    [MemberData(nameof(OrchestratorNames))]
    public void EveryCatalogueEntry_HasBuildTimeJsonContractsForItsInputAndOutput(string name)
    {
        (Type input, Type output) =
            WorkflowCatalog.Activities.FirstOrDefault(a => a.Name == name) is { } activity ? (activity.Input, activity.Output)
            : WorkflowCatalog.Orchestrators.Single(o => o.Name == name) is var orchestrator ? (orchestrator.Input, orchestrator.Output)
            : default;

        // The native build has no reflection to fall back on: the generated context alone must describe both.
        Assert.True(
            CoreJsonContext.Default.GetTypeInfo(input) is not null,
            $"{name}: add [JsonSerializable(typeof({input.Name}))] to CoreJsonContext"
        );
        Assert.True(
            CoreJsonContext.Default.GetTypeInfo(output) is not null,
            $"{name}: add [JsonSerializable(typeof({output.Name}))] to CoreJsonContext"
        );
    }

    [Fact]
    public void ActivityNames_AreTheirClassNames_AndUnique()
    {
        Assert.All(WorkflowCatalog.Activities, a => Assert.Equal(a.Implementation.Name, a.Name));
        Assert.Equal(WorkflowCatalog.Activities.Count, WorkflowCatalog.Activities.Select(a => a.Name).Distinct().Count());
    }
}

using FineTuning.Local.Hosting;
using FineTuning.Local.Runtime;
using FineTuning.OpenAI;
using Microsoft.Extensions.Configuration;

namespace FineTuning.Tests.Runtime;

/// <summary>The local host's settings: bound by section, every problem reported at start, fault injection typed.</summary>
public sealed class LocalCompositionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Defaults_AreTheDocumentedOnes()
    {
        var settings = LocalComposition.Settings(Settings());

        Assert.Equal(ProviderKind.Emulator, settings.Provider.Kind);
        Assert.Equal(100, settings.Emulator.Speed);
        Assert.Equal(Environment.ProcessorCount, settings.Runtime.MaxConcurrentActivities);
        Assert.Null(settings.Diagnostics.KillPoint);
    }

    [Fact]
    public async Task BadSettings_StopTheHostAtStart_NamingEveryOne_AndLeaveTheDataDirectoryFree()
    {
        IConfiguration bad = Settings(
            ("FineTuning:Emulator:Speed", "0"),
            ("FineTuning:Runtime:MaxConcurrentActivities", "0"),
            ("FineTuning:Diagnostics:KillAt", "during:lunch")
        );

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalRunHost.StartAsync(_dir.File("data"), bad));

        Assert.Contains("FineTuning__Emulator__Speed must be", refused.Message, StringComparison.Ordinal);
        Assert.Contains("FineTuning__Runtime__MaxConcurrentActivities must be at least 1", refused.Message, StringComparison.Ordinal);
        Assert.Contains("FineTuning__Diagnostics__KillAt must be before|after:Kind:Name", refused.Message, StringComparison.Ordinal);
        await using LocalRunHost host = await LocalRunHost.StartAsync(_dir.File("data"), Settings());
    }

    [Fact]
    public void KillAt_IsParsedIntoTheRuntimesHook()
    {
        var settings = LocalComposition.Settings(Settings(("FineTuning:Diagnostics:KillAt", "before:TaskCompleted:SubmitJob")));

        Assert.Equal((true, HistoryKind.TaskCompleted, "SubmitJob", 1), settings.Diagnostics.KillPoint);
        DurableRuntimeOptions options = settings.Diagnostics.Apply(new DurableRuntimeOptions());
        Assert.NotNull(options.Recording);
        Assert.Null(options.Recorded);
    }

    [Theory]
    [InlineData("after:TaskCompleted:DeployModel:2", false, 2)]
    [InlineData("before:TaskScheduled:GetJob:1", true, 1)]
    public void KillAt_WithAnOccurrence_IsTheNthSuchEvent(string killAt, bool before, int occurrence)
    {
        var settings = LocalComposition.Settings(Settings(("FineTuning:Diagnostics:KillAt", killAt)));

        Assert.Equal(before, settings.Diagnostics.KillPoint!.Value.Before);
        Assert.Equal(occurrence, settings.Diagnostics.KillPoint!.Value.Occurrence);
    }

    [Theory]
    [InlineData("after:TaskCompleted:DeployModel:0")]
    [InlineData("after:TaskCompleted:DeployModel:two")]
    [InlineData("after:TaskCompleted:DeployModel:2:3")]
    public void KillAt_WithABadOccurrence_IsRefusedWithTheForm(string killAt) =>
        Assert.Contains(
            "KillAt must be before|after:Kind:Name[:N]",
            Assert
                .Throws<InvalidOperationException>(() => LocalComposition.Settings(Settings(("FineTuning:Diagnostics:KillAt", killAt))))
                .Message,
            StringComparison.Ordinal
        );

    [Fact]
    public void Cli_WithABadSetting_ExitsTwoWithTheSentence()
    {
        Environment.SetEnvironmentVariable("FineTuning__Emulator__Speed", "-3");
        try
        {
            var (code, _, err) = Datasets.CliRunner.Run(
                "run",
                _dir.Write("a.jsonl", Rows.Jsonl(Rows.ManyChats(12))),
                "--data",
                _dir.File("data")
            );
            Assert.True(code == 2, err);
            Assert.Contains("error: FineTuning__Emulator__Speed must be a number above 0", err, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FineTuning__Emulator__Speed", null);
        }
    }
}

using System.Text.Json;
using FineTuning.Core.Evaluation;
using FineTuning.Core.Workflow;
using FineTuning.Emulator;
using FineTuning.Local.Storage;

namespace FineTuning.Tests.Runtime;

/// <summary>
/// The real <c>finetune</c> process, deploying to an Azure OpenAI account (the emulator's Resource Manager), is killed
/// (SIGKILL) while it evaluates and while it deploys, and started again: the run ends with its model in production, no
/// held-out row was asked twice, and the account holds one deployment, the production one.
/// </summary>
public sealed class AzureKillRestartTests : IAsyncLifetime, IDisposable
{
    private const string Account = "/subscriptions/s1/resourceGroups/g1/providers/Microsoft.CognitiveServices/accounts/aoai";

    private readonly TempDir _dir = new();
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await EmulatorServer.StartAsync(
            new EmulatorOptions
            {
                Speed = 100,
                ApiKey = "k",
                Skill = new EmulatorSkill { Base = 0.3, FineTuned = 0.9 },
            }
        );

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    /// <summary>The provider and the account are this test's emulator (it outlives the killed process).</summary>
    private Dictionary<string, string> Settings(string? killAt)
    {
        var settings = new Dictionary<string, string>
        {
            ["FineTuning__Provider__Kind"] = "Emulator",
            ["FineTuning__Provider__Endpoint"] = _emulator.OpenAIEndpoint.ToString(),
            ["FineTuning__Provider__ApiKey"] = "k",
            ["FineTuning__Deployments__AccountResourceId"] = Account,
            ["FineTuning__Deployments__ManagementEndpoint"] = _emulator.ArmEndpoint.ToString(),
            ["FineTuning__Deployments__EmulatorKey"] = "k",
        };
        if (killAt is not null)
            settings["FineTuning__Diagnostics__KillAt"] = killAt;
        return settings;
    }

    [Theory]
    [InlineData("before:TaskCompleted:DeployModel")] // the evaluation's deployment was created, the history does not know
    [InlineData("before:TaskCompleted:EvaluateBatch")] // every row answered and kept, the batch not recorded
    [InlineData("before:TaskCompleted:RemoveDeployment")] // the evaluation's deployment removed, not recorded
    [InlineData("before:TaskCompleted:DeployModel:2")] // the production deployment created, not recorded
    [InlineData("after:TaskCompleted:DeployModel:2")] // waiting on a durable timer for it to be provisioned
    public async Task KilledWhileEvaluatingOrDeploying_TheNextStartEndsInProductionWithNoRowAskedTwiceAndOneDeployment(string killAt)
    {
        string dataset = _dir.Write("support.jsonl", Rows.Jsonl(Rows.ManyChats(300, i => i % 3 == 0 ? "billing"
                    : i % 3 == 1 ? "shipping"
                    : "returns")));
        string data = _dir.File("data");
        string[] args = ["run", dataset, "--data", data, "--approval", "auto", "--poll-seconds", "1"];

        var (killedCode, killedOut, killedErr) = await KillRestartTests.Finetune(
            KillRestartTests.StartInfo(null, null, args, Settings(killAt))
        );
        var (code, output, errors) = await KillRestartTests.Finetune(KillRestartTests.StartInfo(null, null, args, Settings(null)));

        Assert.True(killedCode == 137, $"the first process was not killed (exit {killedCode}): {killedOut}{killedErr}");
        Assert.True(code == 0, $"exit {code}: {output}{errors}");
        Assert.Contains("Resumed 1 unfinished run", output, StringComparison.Ordinal);
        var tables = new SqliteTables(Path.Combine(data, "finetuning.db"));
        RunRow run = Assert.Single(await ((IRunStore)tables).ListAsync());
        Assert.Equal(RunStatus.Succeeded, run.Status);
        ModelRow model = Assert.Single(await ((IModelRegistry)tables).ListAsync());
        Assert.Equal(ModelStages.Production, model.Stage);

        // One deployment: the production one, serving the model; the evaluation's was removed.
        JsonElement deployment = Assert.Single(await EmulatedAccount.DeploymentsAsync(_emulator, Account, "k"));
        Assert.Equal(model.Deployment, deployment.GetProperty("name").GetString());
        Assert.Equal(model.ModelId, deployment.GetProperty("properties").GetProperty("model").GetProperty("name").GetString());

        // The base and the fine-tuned model each answered each held-out row once, across both processes.
        var answers = _emulator.AnswerCounts().Where(a => a.Key.Model != new EvaluationOptions().JudgeModel).ToList();
        Assert.Equal(2 * run.Evaluation!.Rows, answers.Count);
        Assert.All(answers, a => Assert.True(a.Value == 1, $"{a.Key.Model} was asked {a.Value} times: {a.Key.Messages}"));
        KillRestartTests.AssertNoHalfWrittenBlob(Path.Combine(data, "blobs"));
    }

    [Fact]
    public async Task WithOnlyAnAccountConfigured_TheBuiltInEmulatorDeploys_AndKeepsItsDeploymentsAcrossAKill()
    {
        string dataset = _dir.Write("support.jsonl", Rows.Jsonl(Rows.ManyChats(300, i => i % 2 == 0 ? "billing" : "shipping")));
        string data = _dir.File("data");
        string[] args = ["run", dataset, "--data", data, "--approval", "auto"];
        var account = new Dictionary<string, string> { ["FineTuning__Deployments__AccountResourceId"] = Account };

        // Killed while the run waits for the production deployment to be provisioned: the next process's emulator must
        // still know it, or the run would find it gone while it is being created.
        var (killedCode, _, _) = await KillRestartTests.Finetune(
            KillRestartTests.StartInfo(
                null,
                null,
                args,
                new Dictionary<string, string>(account) { ["FineTuning__Diagnostics__KillAt"] = "after:TaskCompleted:DeployModel:2" }
            )
        );
        var (code, output, errors) = await KillRestartTests.Finetune(KillRestartTests.StartInfo(null, null, args, account));

        Assert.Equal(137, killedCode);
        Assert.True(code == 0, $"exit {code}: {output}{errors}");
        ModelRow model = Assert.Single(await ((IModelRegistry)new SqliteTables(Path.Combine(data, "finetuning.db"))).ListAsync());
        Assert.Equal(ModelStages.Production, model.Stage);
        Assert.NotNull(model.Deployment);
        using JsonDocument state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(data, "emulator", "state.json")));
        JsonElement kept = Assert.Single(state.RootElement.GetProperty("Deployments").EnumerateArray());
        Assert.Equal((model.Deployment, model.ModelId), (kept.GetProperty("Name").GetString(), kept.GetProperty("Model").GetString()));
    }

    /// <summary>The deployments the built-in emulator keeps: (name, model), in name order.</summary>
    private static async Task<(string? Name, string? Model)[]> KeptDeploymentsAsync(string data)
    {
        using JsonDocument state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(data, "emulator", "state.json")));
        return
        [
            .. state
                .RootElement.GetProperty("Deployments")
                .EnumerateArray()
                .Select(d => (d.GetProperty("Name").GetString(), d.GetProperty("Model").GetString()))
                .OrderBy(d => d.Item1, StringComparer.Ordinal),
        ];
    }

    [Fact]
    public async Task PromoteAndArchive_FromTheCommandLine_OnAnAccount_DeployFirstAndRemoveTheDeployment()
    {
        string data = _dir.File("data");
        var account = new Dictionary<string, string> { ["FineTuning__Deployments__AccountResourceId"] = Account };
        async Task<(int Code, string Out, string Err)> Finetune(params string[] args) =>
            await KillRestartTests.Finetune(KillRestartTests.StartInfo(null, null, [.. args, "--data", data], account));
        foreach (int rows in new[] { 300, 330 })
        {
            string dataset = _dir.Write(
                $"support-{rows}.jsonl",
                Rows.Jsonl(Rows.ManyChats(rows, i => i % 2 == 0 ? "billing" : "shipping"))
            );
            var (ran, output, errors) = await Finetune("run", dataset, "--approval", "auto", "--suffix", "support");
            Assert.True(ran == 0, $"exit {ran}: {output}{errors}");
        }

        var tables = new SqliteTables(Path.Combine(data, "finetuning.db"));
        ModelRow first = (await ((IModelRegistry)tables).ListAsync()).Single(m => m.Version == 1);
        Assert.Equal(ModelStages.Archived, first.Stage);

        // Rolled back from the command line: deployed again, live, then production; the second's deployment removed.
        var (code, promoted, failed) = await Finetune("promote", first.ModelId, "--by", "ana", "--why", "roll back");

        Assert.True(code == 0, $"exit {code}: {promoted}{failed}");
        ModelRow now = (await ((IModelRegistry)tables).GetAsync(first.ModelId))!;
        Assert.Equal(ModelStages.Production, now.Stage);
        Assert.Equal(("ana", "roll back"), (now.StageHistory[^1].By, now.StageHistory[^1].Why));
        Assert.Contains($"Deploying {first.ModelId} as {now.Deployment}", promoted, StringComparison.Ordinal);
        Assert.Contains(
            $"{first.ModelId} is production (support version 1), deployed as {now.Deployment}.",
            promoted,
            StringComparison.Ordinal
        );
        Assert.Equal([(now.Deployment, first.ModelId)], await KeptDeploymentsAsync(data));

        var (archived, output2, errors2) = await Finetune("archive", first.ModelId, "--why", "done");

        Assert.True(archived == 0, $"exit {archived}: {output2}{errors2}");
        Assert.Equal(ModelStages.Archived, (await ((IModelRegistry)tables).GetAsync(first.ModelId))!.Stage);
        Assert.Empty(await KeptDeploymentsAsync(data));

        // While 'finetune serve' holds the data directory, the command says where the promote goes instead.
        await using (await Dashboard.ServeProcess.StartAsync(data, 100))
        {
            var (refused, _, why) = await Finetune("promote", first.ModelId);

            Assert.Equal(2, refused);
            Assert.Contains($"POST /api/models/{Uri.EscapeDataString(first.ModelId)}/promote to it", why, StringComparison.Ordinal);
        }
    }
}

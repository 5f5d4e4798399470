using System.Diagnostics;
using System.Text.Json;

namespace FineTuning.Tests.Infra;

/// <summary>
/// The Bicep compiler from the NuGet feed (<c>Azure.Bicep.CommandLine.linux-x64</c>: the CLI is <c>tools/bicep</c> in the
/// package), restored on first use by a throwaway project outside the repository (a <c>PackageDownload</c>, which central
/// package management does not cover), and the ARM template it compiles <c>infra/main.bicep</c> to.
/// </summary>
public static class CompiledTemplate
{
    public const string BicepVersion = "0.49.2";

    private static readonly Lazy<string> Cli = new(FindOrRestore);
    private static readonly Lazy<JsonElement> Main = new(() =>
    {
        (int code, string output, string errors) = Bicep("build", Repo.File("infra/main.bicep"), "--stdout");
        Assert.True(code == 0, errors);
        return JsonDocument.Parse(output).RootElement.Clone();
    });

    /// <summary>The compiled subscription-scope template.</summary>
    public static JsonElement Template => Main.Value;

    /// <summary>Runs the Bicep CLI; its exit code, standard output and standard error.</summary>
    public static (int ExitCode, string Output, string Errors) Bicep(params string[] arguments)
    {
        var start = new ProcessStartInfo(Cli.Value, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        start.Environment["BICEP_TRACING_ENABLED"] = "false";
        using Process bicep = Process.Start(start)!;
        Task<string> output = bicep.StandardOutput.ReadToEndAsync();
        string errors = bicep.StandardError.ReadToEnd();
        bicep.WaitForExit();
        return (bicep.ExitCode, output.Result, errors);
    }

    /// <summary>The module deployment named <paramref name="name"/> (a nested <c>Microsoft.Resources/deployments</c>).</summary>
    public static JsonElement Module(string name) =>
        Resources(Template)
            .Single(r =>
                r.GetProperty("type").GetString() == "Microsoft.Resources/deployments" && r.GetProperty("name").GetString() == name
            );

    /// <summary>The resources a module deploys, of one type.</summary>
    public static IEnumerable<JsonElement> ResourcesOf(string module, string type) =>
        Resources(Module(module).GetProperty("properties").GetProperty("template")).Where(r => r.GetProperty("type").GetString() == type);

    /// <summary>A template's resources, whether listed (language version 1) or named (2.0).</summary>
    public static IEnumerable<JsonElement> Resources(JsonElement template)
    {
        JsonElement resources = template.GetProperty("resources");
        return resources.ValueKind == JsonValueKind.Array ? resources.EnumerateArray() : resources.EnumerateObject().Select(p => p.Value);
    }

    /// <summary>The module deployments <paramref name="module"/> waits for, by name.</summary>
    public static IEnumerable<string> DependsOn(string module) =>
        Module(module).TryGetProperty("dependsOn", out JsonElement on)
            ? on.EnumerateArray().Select(d => d.GetString()!).Select(d => d.Split('\'')[^2])
            : [];

    private static string FindOrRestore()
    {
        if (Environment.GetEnvironmentVariable("BICEP") is { Length: > 0 } given)
        {
            return given;
        }

        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cli = Path.Combine(packages, "azure.bicep.commandline.linux-x64", BicepVersion, "tools", "bicep");
        if (!File.Exists(cli))
        {
            string project = Path.Combine(Path.GetTempPath(), $"finetuning-bicep-restore-{Environment.ProcessId}");
            Directory.CreateDirectory(project);
            File.WriteAllText(
                Path.Combine(project, "restore.csproj"),
                $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
                  <ItemGroup><PackageDownload Include="Azure.Bicep.CommandLine.linux-x64" Version="[{BicepVersion}]" /></ItemGroup>
                </Project>
                """
            );
            using Process restore = Process.Start(
                new ProcessStartInfo("dotnet", ["restore", project, "-v:quiet"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                }
            )!;
            string said = restore.StandardOutput.ReadToEnd() + restore.StandardError.ReadToEnd();
            restore.WaitForExit();
            Directory.Delete(project, recursive: true);
            Assert.True(File.Exists(cli), $"The Bicep CLI {BicepVersion} could not be restored from the NuGet feed: {said}");
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(
                cli,
                File.GetUnixFileMode(cli) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute
            );
        }

        return cli;
    }
}

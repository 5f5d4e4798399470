using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage;
using Azure.Storage.Blobs;

namespace FineTuning.Tests.Storage;

/// <summary>
/// Azurite, the Azure Storage emulator (npm package <c>azurite</c>), on free loopback ports with an account whose key is
/// made up for this run, so the Azure host's storage adapters run against the real Azure SDK over HTTP. Installed on
/// first use into the user's cache folder with npm (about 40 s, once); <c>FINETUNING_AZURITE</c> may name an installed
/// <c>azurite</c> instead.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string Version = "3.37.0";
    private const string Account = "finetuning";
    private Process? _process;

    public BlobServiceClient Blobs { get; private set; } = null!;

    public TableServiceClient Tables { get; private set; } = null!;

    /// <summary>The emulator's connection string, as the Azure host's <c>FineTuning:Storage:Connection</c> takes it.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        string azurite = await FindOrInstallAsync();
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        int blobPort = FreePort(),
            queuePort = FreePort(),
            tablePort = FreePort();
        var info = new ProcessStartInfo(azurite)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (
            string arg in new[]
            {
                "--silent",
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--disableProductStyleUrl",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                $"{blobPort}",
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                $"{queuePort}",
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                $"{tablePort}",
            }
        )
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["AZURITE_ACCOUNTS"] = $"{Account}:{key}";
        _process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {azurite}");
        var output = new System.Text.StringBuilder();
        _process.OutputDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
                output.AppendLine(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForPortsAsync([blobPort, tablePort], output);

        Blobs = new BlobServiceClient(new Uri($"http://127.0.0.1:{blobPort}/{Account}"), new StorageSharedKeyCredential(Account, key));
        Tables = new TableServiceClient(new Uri($"http://127.0.0.1:{tablePort}/{Account}"), new TableSharedKeyCredential(Account, key));
        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={key};BlobEndpoint=http://127.0.0.1:{blobPort}/{Account};"
            + $"QueueEndpoint=http://127.0.0.1:{queuePort}/{Account};TableEndpoint=http://127.0.0.1:{tablePort}/{Account};";
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return Task.CompletedTask;
    }

    private async Task WaitForPortsAsync(int[] ports, System.Text.StringBuilder output)
    {
        var deadline = Stopwatch.StartNew();
        foreach (int port in ports)
        {
            while (true)
            {
                if (_process!.HasExited)
                    throw new InvalidOperationException($"Azurite exited with {_process.ExitCode}: {output}");
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> FindOrInstallAsync()
    {
        if (Environment.GetEnvironmentVariable("FINETUNING_AZURITE") is { Length: > 0 } given)
        {
            return given;
        }

        string cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        string home = Path.Combine(cache, "finetuning-tests", $"azurite-{Version}");
        string azurite = Path.Combine(home, "node_modules", ".bin", "azurite");
        if (File.Exists(azurite))
        {
            return azurite;
        }

        // Installed into a fresh folder and moved into place whole, so an interrupted install is never taken for one.
        string staging = $"{home}.{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        var info = new ProcessStartInfo("npm")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (
            string arg in new[] { "install", "--prefix", staging, "--no-audit", "--no-fund", "--loglevel=error", $"azurite@{Version}" }
        )
        {
            info.ArgumentList.Add(arg);
        }

        Process? started;
        try
        {
            started = Process.Start(info);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Directory.Delete(staging, recursive: true);
            throw new InvalidOperationException(
                $"The Azure storage tests need Azurite, installed with npm, and npm was not found ({ex.Message}): install Node.js and npm "
                    + "(apt-get install nodejs npm), or set FINETUNING_AZURITE to an installed azurite.",
                ex
            );
        }

        using Process npm = started
            ?? throw new InvalidOperationException("npm could not be started to install Azurite for the Azure storage tests.");
        Task<string> stderr = npm.StandardError.ReadToEndAsync();
        _ = await npm.StandardOutput.ReadToEndAsync();
        await npm.WaitForExitAsync();
        if (npm.ExitCode != 0)
        {
            Directory.Delete(staging, recursive: true);
            throw new InvalidOperationException($"npm install azurite@{Version} failed ({npm.ExitCode}): {await stderr}");
        }

        try
        {
            Directory.Move(staging, home);
        }
        catch (IOException) when (File.Exists(azurite))
        {
            Directory.Delete(staging, recursive: true); // another test run installed it first
        }

        return azurite;
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteTests : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}

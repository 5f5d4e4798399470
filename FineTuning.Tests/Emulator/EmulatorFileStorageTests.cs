using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FineTuning.Emulator;

namespace FineTuning.Tests.Emulator;

/// <summary>The emulator keeps file contents on disk, never in memory, and a scratch folder leaves with it.</summary>
public sealed class EmulatorFileStorageTests
{
    [Fact]
    public async Task Contents_AreStreamedToDisk_ReadBackWhole_AndTheScratchFolderGoesOnDispose()
    {
        EmulatorServer emulator = await EmulatorServer.StartAsync(new EmulatorOptions());
        using var http = new HttpClient { BaseAddress = emulator.OpenAIEndpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "any-key");
        byte[] content = Encoding.UTF8.GetBytes(Rows.Jsonl(Rows.ManyChats(2000)));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("fine-tune"), "purpose" },
            { new ByteArrayContent(content), "file", "train.jsonl" },
        };

        using HttpResponseMessage uploaded = await http.PostAsync(new Uri("files", UriKind.Relative), form);
        string id = JsonDocument.Parse(await uploaded.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        byte[] readBack = await http.GetByteArrayAsync(new Uri($"files/{id}/content", UriKind.Relative));
        string onDisk = emulator.ContentDirectory;
        Assert.StartsWith(Path.GetTempPath(), onDisk, StringComparison.Ordinal);
        long bytesOnDisk = new FileInfo(Path.Combine(onDisk, id)).Length;
        await emulator.DisposeAsync();

        Assert.Equal(content, readBack);
        Assert.Equal(content.LongLength, bytesOnDisk);
        Assert.False(Directory.Exists(onDisk));
    }
}

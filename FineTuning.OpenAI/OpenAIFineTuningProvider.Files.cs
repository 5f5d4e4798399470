using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FineTuning.Core.Providers;
using OpenAI.Files;

namespace FineTuning.OpenAI;

public sealed partial class OpenAIFineTuningProvider
{
    public async Task<ProviderFile> UploadFileAsync(string fileName, Stream content, CancellationToken cancellationToken = default)
    {
        if (content.CanSeek && content.Length - content.Position > _options.SingleUploadLimitBytes)
        {
            return await UploadInPartsAsync(fileName, content, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            ClientResult<OpenAIFile> result = await _files
                .UploadFileAsync(content, fileName, FileUploadPurpose.FineTune, cancellationToken)
                .ConfigureAwait(false);
            return ReadFile(JsonDocument.Parse(result.GetRawResponse().Content).RootElement);
        }
        catch (ClientResultException ex) when (ex.GetRawResponse() is { } response)
        {
            throw ToProviderException(response);
        }
    }

    /// <summary>The Uploads API: create an upload, send parts (several at once), complete it in order.</summary>
    private async Task<ProviderFile> UploadInPartsAsync(string fileName, Stream content, CancellationToken cancellationToken)
    {
        long total = content.Length - content.Position;
        string create = new JsonObject
        {
            ["filename"] = fileName,
            ["purpose"] = "fine-tune",
            ["bytes"] = total,
            ["mime_type"] = "application/jsonl",
        }.ToJsonString();
        string uploadId = (await SendAsync("POST", "uploads", create, cancellationToken).ConfigureAwait(false))
            .GetProperty("id")
            .GetString()!;
        int partCount = (int)((total + _options.UploadPartBytes - 1) / _options.UploadPartBytes);
        LogUploadParts(fileName, partCount, _options.UploadPartBytes);
        var partIds = new string[partCount];
        using var slots = new SemaphoreSlim(Math.Max(1, _options.UploadParallelism));
        var sending = new List<Task>();
        for (int i = 0; i < partCount; i++)
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            // The part is read straight into its multipart request body: one buffer per part, no copies.
            PartBody part = PartBody.Create((int)Math.Min(_options.UploadPartBytes, total - ((long)i * _options.UploadPartBytes)));
            await content.ReadExactlyAsync(part.Data, cancellationToken).ConfigureAwait(false);
            int index = i;
            sending.Add(
                Task.Run(
                    async () =>
                    {
                        try
                        {
                            partIds[index] = await SendPartAsync(uploadId, part, cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    },
                    cancellationToken
                )
            );
        }

        await Task.WhenAll(sending).ConfigureAwait(false);
        string complete = new JsonObject { ["part_ids"] = new JsonArray([.. partIds.Select(id => (JsonNode)id)]) }.ToJsonString();
        JsonElement upload = await SendAsync("POST", $"uploads/{uploadId}/complete", complete, cancellationToken).ConfigureAwait(false);
        return ReadFile(upload.GetProperty("file"));
    }

    private async Task<string> SendPartAsync(string uploadId, PartBody part, CancellationToken cancellationToken)
    {
        BinaryData response = await SendRawAsync(
                "POST",
                $"uploads/{uploadId}/parts",
                cancellationToken,
                content: (BinaryData.FromBytes(part.Body), part.ContentType)
            )
            .ConfigureAwait(false);
        using JsonDocument document = JsonDocument.Parse(response);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>
    /// A multipart/form-data body with one file field <c>data</c>, whose bytes are read into <see cref="Data"/> in
    /// place.
    /// </summary>
    private sealed class PartBody
    {
        private PartBody(byte[] body, int offset, int length, string boundary)
        {
            Body = body;
            Data = body.AsMemory(offset, length);
            ContentType = $"multipart/form-data; boundary={boundary}";
        }

        public byte[] Body { get; }

        public Memory<byte> Data { get; }

        public string ContentType { get; }

        public static PartBody Create(int length)
        {
            string boundary = "part-" + Guid.NewGuid().ToString("N");
            byte[] head = Encoding.ASCII.GetBytes(
                $"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"part\"\r\nContent-Type: "
                    + "application/octet-stream\r\n\r\n"
            );
            byte[] tail = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
            byte[] body = new byte[head.Length + length + tail.Length];
            head.CopyTo(body, 0);
            tail.CopyTo(body, head.Length + length);
            return new PartBody(body, head.Length, length, boundary);
        }
    }

    public async Task<ProviderFile> GetFileAsync(string fileId, CancellationToken cancellationToken = default) =>
        ReadFile(await SendAsync("GET", $"files/{Uri.EscapeDataString(fileId)}", null, cancellationToken).ConfigureAwait(false));

    private static ProviderFile ReadFile(JsonElement f) =>
        new(
            f.GetProperty("id").GetString()!,
            f.TryGetProperty("filename", out JsonElement name) ? name.GetString() ?? "" : "",
            f.TryGetProperty("bytes", out JsonElement bytes) && bytes.ValueKind == JsonValueKind.Number ? bytes.GetInt64() : 0,
            f.TryGetProperty("status", out JsonElement status) ? status.GetString() ?? "uploaded" : "uploaded",
            f.TryGetProperty("status_details", out JsonElement details) && details.ValueKind == JsonValueKind.String
                ? details.GetString()
                : null
        );
}

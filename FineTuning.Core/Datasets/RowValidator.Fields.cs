using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace FineTuning.Core.Datasets;

internal sealed partial class RowValidator
{
    private bool TryTopLevel(ReadOnlySpan<byte> line, scoped ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        foreach ((int nameStart, int nameLength, int valueStart, int valueLength) in _topLevel)
        {
            if (line.Slice(nameStart, nameLength).SequenceEqual(name))
            {
                value = line.Slice(valueStart, valueLength);
                return true;
            }
        }

        value = default;
        return false;
    }

    private bool TryFindPath(ReadOnlySpan<byte> line, string[] path, out ReadOnlySpan<byte> value)
    {
        Span<byte> scratch = stackalloc byte[256];
        int n = Encoding.UTF8.GetBytes(path[0].AsSpan(0, Math.Min(path[0].Length, 64)), scratch);
        if (!TryTopLevel(line, scratch[..n], out value))
        {
            return false;
        }

        for (int i = 1; i < path.Length; i++)
        {
            if (!TryFindProperty(value, path[i], out value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryFindProperty(ReadOnlySpan<byte> json, string name, out ReadOnlySpan<byte> value)
    {
        value = default;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = reader.ValueTextEquals(name);
            reader.Read();
            int start = (int)reader.TokenStartIndex;
            reader.Skip();
            if (match)
            {
                value = json.Slice(start, (int)reader.BytesConsumed - start);
                return true;
            }
        }

        return false;
    }

    /// <summary><c>metadata.generated == true</c> and <c>metadata.valid == false</c>, with one lookup of <c>metadata</c>.</summary>
    private (bool Generated, bool ExcludedByMetadata) ReadMetadataFlags(ReadOnlySpan<byte> line)
    {
        if (!TryTopLevel(line, "metadata"u8, out ReadOnlySpan<byte> meta))
        {
            return (false, false);
        }

        bool generated = TryFindProperty(meta, "generated", out ReadOnlySpan<byte> g) && g.SequenceEqual("true"u8);
        bool excluded = TryFindProperty(meta, "valid", out ReadOnlySpan<byte> v) && v.SequenceEqual("false"u8);
        return (generated, excluded);
    }

    private readonly Dictionary<ulong, string> _topicNames = [];

    private string ReadTopic(ReadOnlySpan<byte> line)
    {
        if (_topicPath.Length == 0 || !TryFindPath(line, _topicPath, out ReadOnlySpan<byte> raw) || raw.SequenceEqual("null"u8))
        {
            return Topics.None;
        }

        ulong key = XxHash3.HashToUInt64(raw);
        if (_topicNames.TryGetValue(key, out string? name))
        {
            return name;
        }

        name = raw.Length > 0 && raw[0] == (byte)'"' ? ReadString(raw) ?? Topics.None : Encoding.UTF8.GetString(raw);
        if (_topicNames.Count < 100_000)
        {
            _topicNames[key] = name;
        }

        return name;
    }

    /// <summary>A JSON string token (quotes and escapes) as its text.</summary>
    private static string? ReadString(ReadOnlySpan<byte> token)
    {
        var reader = new Utf8JsonReader(token);
        return reader.Read() ? reader.GetString() : null;
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FineTuning.Core.Hashing;

/// <summary>
/// A stable 128-bit identity of a row's bytes (the first half of its SHA-256): the same bytes give the same hash in
/// every process, shard and machine, so duplicates are found across shards and the split depends on content only.
/// </summary>
[JsonConverter(typeof(ContentHashJsonConverter))]
public readonly record struct ContentHash(ulong High, ulong Low) : IComparable<ContentHash>
{
    public static ContentHash Of(ReadOnlySpan<byte> bytes)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, digest);
        return new ContentHash(BinaryPrimitives.ReadUInt64BigEndian(digest), BinaryPrimitives.ReadUInt64BigEndian(digest[8..]));
    }

    public int CompareTo(ContentHash other)
    {
        int c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }

    public static bool operator <(ContentHash left, ContentHash right) => left.CompareTo(right) < 0;

    public static bool operator <=(ContentHash left, ContentHash right) => left.CompareTo(right) <= 0;

    public static bool operator >(ContentHash left, ContentHash right) => left.CompareTo(right) > 0;

    public static bool operator >=(ContentHash left, ContentHash right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{High:x16}{Low:x16}";

    public static ContentHash Parse(string hex) =>
        new(ulong.Parse(hex.AsSpan(0, 16), NumberStyles.HexNumber), ulong.Parse(hex.AsSpan(16, 16), NumberStyles.HexNumber));
}

internal sealed class ContentHashJsonConverter : JsonConverter<ContentHash>
{
    public override ContentHash Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ContentHash.Parse(reader.GetString() ?? throw new JsonException("A content hash must be a 32-character hex string."));

    public override void Write(Utf8JsonWriter writer, ContentHash value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

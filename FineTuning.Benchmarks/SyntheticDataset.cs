using System.Text;
using System.Text.Json;

namespace FineTuning.Benchmarks;

/// <summary>
/// Writes a synthetic supervised chat dataset with topics, deterministic for a seed: system prompts, one to three
/// user/assistant turns of word-salad prose with numbers and punctuation, a tool call in one row in eight, and a
/// <c>topic</c> field over twelve topics. Rows are about 1.5 KB, like customer-support transcripts.
/// </summary>
public static class SyntheticDataset
{
    private static readonly string[] Words =
    [
        "order",
        "refund",
        "shipping",
        "account",
        "password",
        "delivery",
        "warranty",
        "invoice",
        "the",
        "a",
        "to",
        "and",
        "of",
        "is",
        "your",
        "we",
        "can",
        "will",
        "please",
        "thank",
        "you",
        "for",
        "waiting",
        "package",
        "tracking",
        "number",
        "customer",
        "support",
        "return",
        "policy",
        "within",
        "days",
        "business",
        "email",
        "address",
        "update",
        "payment",
        "method",
        "card",
        "charged",
        "twice",
        "subscription",
        "cancel",
        "renewal",
        "discount",
        "code",
        "available",
        "stock",
        "size",
        "colour",
        "exchange",
        "replacement",
        "damaged",
        "item",
        "arrived",
        "late",
        "international",
        "customs",
        "duties",
        "express",
        "standard",
        "weekend",
        "holiday",
        "schedule",
        "technician",
        "installation",
        "configuration",
        "troubleshooting",
        "restart",
        "device",
        "firmware",
        "compatibility",
    ];

    private static readonly string[] Topics =
    [
        "billing",
        "shipping",
        "returns",
        "accounts",
        "warranty",
        "technical",
        "orders",
        "payments",
        "subscriptions",
        "stock",
        "international",
        "feedback",
    ];

    private static readonly string[] Systems =
    [
        "You are a helpful customer support assistant for an online store. Be concise and polite.",
        "You are Contoso's support agent. Answer in at most three sentences and cite the relevant policy.",
        "You help customers with orders, refunds and deliveries. Never promise dates you cannot confirm.",
    ];

    public static long Write(string path, long targetBytes, int seed = 1)
    {
        var random = new Random(seed);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
        long rows = 0;
        var sb = new StringBuilder();
        while (stream.Position + writer.BytesPending < targetBytes)
        {
            writer.Reset(stream);
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            Message(writer, "system", Systems[random.Next(Systems.Length)]);
            int turns = 1 + random.Next(3);
            bool tool = random.Next(8) == 0;
            for (int t = 0; t < turns; t++)
            {
                Message(writer, "user", Prose(random, sb, 15 + random.Next(40)));
                if (tool && t == turns - 1)
                {
                    writer.WriteStartObject();
                    writer.WriteString("role", "assistant");
                    writer.WriteStartArray("tool_calls");
                    writer.WriteStartObject();
                    writer.WriteString("id", $"call_{rows}");
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", "lookup_order");
                    writer.WriteString("arguments", $"{{\"order_id\": \"W{random.Next(1_000_000, 9_999_999)}\"}}");
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                    writer.WriteEndArray();
                    writer.WriteEndObject();
                    writer.WriteStartObject();
                    writer.WriteString("role", "tool");
                    writer.WriteString("tool_call_id", $"call_{rows}");
                    writer.WriteString("content", $"{{\"status\": \"shipped\", \"eta_days\": {random.Next(1, 9)}}}");
                    writer.WriteEndObject();
                }

                Message(writer, "assistant", Prose(random, sb, 30 + random.Next(90)));
            }

            writer.WriteEndArray();
            writer.WriteString("topic", Topics[random.Next(Topics.Length)]);
            writer.WriteEndObject();
            writer.Flush();
            stream.WriteByte((byte)'\n');
            rows++;
        }

        return rows;
    }

    private static void Message(Utf8JsonWriter writer, string role, string content)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("content", content);
        writer.WriteEndObject();
    }

    private static string Prose(Random random, StringBuilder sb, int words)
    {
        sb.Clear();
        for (int i = 0; i < words; i++)
        {
            if (i > 0)
                sb.Append(' ');
            int r = random.Next(40);
            if (r == 0)
                sb.Append(random.Next(1, 100_000));
            else
                sb.Append(Words[random.Next(Words.Length)]);
            if (r == 1)
                sb.Append(',');
            else if (r == 2)
                sb.Append('.');
            else if (r == 3)
                sb.Append('\n');
        }

        sb.Append('.');
        return sb.ToString();
    }
}

using System.Text;
using FineTuning.Core.Datasets;
using FineTuning.Local.Cli;

namespace FineTuning.Tests.Datasets;

/// <summary>Hostile and broken files get precise findings or clear errors: never a crash, a hang or unbounded memory.</summary>
public class BadInputTests
{
    private static readonly string Valid10 = Rows.Jsonl(Rows.ManyChats(10));

    [Fact]
    public void InvalidUtf8_IsReportedWithItsByte()
    {
        byte[] content = [.. Encoding.UTF8.GetBytes(Valid10), .. "{\"messages\": \"caf"u8.ToArray(), 0xC3, 0x28, .. "\"}\n"u8.ToArray()];

        DatasetReport report = Rows.Validate(content);

        Finding f = Assert.Single(report.Findings, x => x.Code == FindingCodes.InvalidUtf8);
        Assert.Equal(11, f.Line);
        Assert.Contains("byte 18", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bom_IsWarnedAndIgnored()
    {
        DatasetReport report = Rows.Validate([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Valid10)]);

        Assert.Equal(1, report.Counts[FindingCodes.Bom]);
        Assert.Equal(10, report.Examples);
        Assert.True(report.Fit);
    }

    [Fact]
    public void Crlf_EveryLineIsCountedAndRowsStayValid()
    {
        DatasetReport report = Rows.Validate(Valid10.Replace("\n", "\r\n", StringComparison.Ordinal));

        Assert.Equal(10, report.Counts[FindingCodes.Crlf]);
        Assert.Equal(10, report.Examples);
        Assert.True(report.Fit);
    }

    [Fact]
    public void BlankLines_AreWarnedWithTheirLinesAndNotCountedAsRows()
    {
        DatasetReport report = Rows.Validate("\n" + Valid10 + "   \n\n");

        Assert.Equal([1L, 12L, 13L], report.Findings.Where(f => f.Code == FindingCodes.EmptyLine).Select(f => f.Line));
        Assert.Equal(10, report.Rows);
    }

    [Fact]
    public void LastLineWithoutNewline_IsReadWhenComplete()
    {
        DatasetReport report = Rows.Validate(Rows.Jsonl(Rows.ManyChats(12)).TrimEnd('\n'));

        Assert.Equal(12, report.Examples);
        Assert.Empty(report.Counts);
    }

    [Fact]
    public void FiftyMegabyteLine_IsTooLongWithoutBeingHeld()
    {
        using var dir = new TempDir();
        string path = dir.File("long.jsonl");
        using (var stream = File.Create(path))
        {
            stream.Write(Encoding.UTF8.GetBytes(Valid10));
            stream.Write("{\"messages\": [{\"role\": \"user\", \"content\": \""u8);
            byte[] chunk = Encoding.ASCII.GetBytes(new string('x', 1 << 20));
            for (int i = 0; i < 50; i++)
                stream.Write(chunk);
            stream.Write("\"}]}\n"u8);
            stream.Write(Encoding.UTF8.GetBytes(Rows.Chat("after", "the long line")));
            stream.Write("\n"u8);
        }

        var validator = new DatasetValidator(new ValidationOptions { MaxLineBytes = 4 << 20 });
        DatasetReport report = validator.ValidateFile(path);

        Finding f = Assert.Single(report.Findings, x => x.Code == FindingCodes.LineTooLong);
        Assert.Equal(11, f.Line);
        Assert.Contains("50.0 MiB", f.Message, StringComparison.Ordinal);
        Assert.Equal(11, report.Examples); // the line after it is read normally
    }

    [Fact]
    public void BinaryGarbage_IsInvalidJsonOnEveryLineAndNeverThrows()
    {
        var random = new Random(7);
        byte[] garbage = new byte[256 * 1024];
        random.NextBytes(garbage);

        DatasetReport report = Rows.Validate(garbage);

        Assert.False(report.Fit);
        Assert.Equal(report.Rows, report.ErrorRows);
        Assert.True(
            report.Counts.Keys.All(c =>
                c
                    is "invalid_utf8"
                        or "invalid_json"
                        or "data_type"
                        or "empty_line"
                        or "crlf"
                        or "error_rate_exceeded"
                        or "too_few_examples"
            ),
            string.Join(", ", report.Counts.Keys)
        );
    }

    [Fact]
    public void Nesting10000Deep_IsInvalidJsonNotAStackOverflow()
    {
        string deep = "{\"messages\": " + new string('[', 10_000) + new string(']', 10_000) + "}";

        DatasetReport report = Rows.Validate(Valid10 + deep + "\n");

        Finding f = Assert.Single(report.Findings, x => x.Code == FindingCodes.InvalidJson);
        Assert.Equal(11, f.Line);
        Assert.Contains("depth", f.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void DuplicateKeys_InMessageAreReportedWithPath()
    {
        DatasetReport report = Rows.Validate(
            Valid10
                + "{\"messages\": [{\"role\": \"user\", \"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": "
                + "\"b\"}]}\n"
        );

        Finding f = Assert.Single(report.Findings, x => x.Code == FindingCodes.DuplicateKey);
        Assert.Equal("messages[0].role", f.Path);
    }

    [Theory]
    [InlineData("\"parallel_tool_calls\": true, \"parallel_tool_calls\": false", new[] { "parallel_tool_calls" })] // over 16 bytes
    [InlineData("\"source_document_id_a\": 1, \"source_document_id_b\": 2", new string[0])] // same first 16 bytes
    [InlineData("\"topic\": \"a\", \"topic_\": \"b\", \"topic\": \"c\"", new[] { "topic" })]
    [InlineData("\"a\": 1, \"b\": 2", new string[0])]
    // Keys up to 16 bytes are compared by their bytes read in overlapping words: each byte of each length counts.
    [InlineData("\"abc\": 1, \"axc\": 2, \"abx\": 3, \"xbc\": 4, \"ab\": 5, \"abc\": 6", new[] { "abc" })]
    [InlineData("\"abcdef\": 1, \"abcxef\": 2, \"abcdex\": 3, \"abcde\": 4, \"abcdef\": 5", new[] { "abcdef" })]
    [InlineData("\"abcdefghijk\": 1, \"abcdefghixk\": 2, \"abcdefghij\": 3, \"abcdefghijk\": 4", new[] { "abcdefghijk" })]
    public void DuplicateKeys_AreFoundExactly_ShortOrLong(string keys, string[] expected)
    {
        DatasetReport report = Rows.Validate(
            Valid10
                + "{"
                + keys
                + ", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}\n"
        );

        Assert.Equal(expected, report.Findings.Where(x => x.Code == FindingCodes.DuplicateKey).Select(f => f.Path));
    }

    [Theory]
    [InlineData("{\"messages\": 5}", "missing_messages_list", "messages")]
    [InlineData("{\"messages\": [5]}", "data_type", "messages[0]")]
    [InlineData("{\"messages\": [{\"role\": 1, \"content\": \"a\"}]}", "data_type", "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": true}]}", "data_type", "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"a\", \"name\": []}]}", "data_type", "messages[0].name")]
    [InlineData(
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\", \"weight\": \"1\"}]}",
        "invalid_weight",
        "messages[0].weight"
    )]
    [InlineData("{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": {}}]}", "invalid_tool_call", "messages[0].tool_calls")]
    [InlineData("{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}], \"tools\": \"x\"}", "invalid_tools", "tools")]
    [InlineData(
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}], \"parallel_tool_calls\": 1}",
        "invalid_tools",
        "parallel_tool_calls"
    )]
    [InlineData("{\"messages\": [{\"role\": \"tool\", \"content\": \"a\", \"tool_call_id\": 7}]}", "data_type", "messages[0].tool_call_id")]
    [InlineData(
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": \"x.jpg\"}]}, {\"role\": "
            + "\"assistant\", \"content\": \"a\"}]}",
        "invalid_content_part",
        "messages[0].content[0].image_url"
    )]
    [InlineData(
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"data/1.jpg\"}}]}, "
            + "{\"role\": \"assistant\", \"content\": \"a\"}]}",
        "invalid_content_part",
        "messages[0].content[0].image_url.url"
    )]
    [InlineData("42", "data_type", "")]
    [InlineData("null", "data_type", "")]
    [InlineData("\"text\"", "data_type", "")]
    [InlineData("{\"input\": [], \"preferred_output\": [], \"non_preferred_output\": []}", "dpo_missing_input", "input")]
    public void WrongTypes_GetAPreciseFinding(string row, string code, string path)
    {
        DatasetReport report = Rows.Validate(Valid10 + row + "\n");

        Assert.Contains(report.Findings, f => f.Code == code && f.Line == 11 && f.Path == path);
    }

    [Fact]
    public void ZeroBytes_AreEmptyFile()
    {
        DatasetReport report = Rows.Validate("");

        Assert.Equal([FindingCodes.EmptyFile], report.Counts.Keys);
        Assert.False(report.Fit);
    }

    [Fact]
    public void JsonArrayFile_SaysItIsNotJsonLines()
    {
        DatasetReport report = Rows.Validate("[\n  {\"instruction\": \"a\", \"output\": \"b\"}\n]\n");

        Finding first = report.Findings.First(f => f.Line == 1);
        Assert.Contains("JSON array", first.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_ExitsTwoNamingTheFile()
    {
        var (code, _, err) = CliRunner.Run("validate", "no-such-file.jsonl");

        Assert.Equal(2, code);
        Assert.Contains("no-such-file.jsonl", err, StringComparison.Ordinal);
        Assert.Contains("does not exist", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Directory_ExitsTwoSayingItIsADirectory()
    {
        using var dir = new TempDir();

        var (code, _, err) = CliRunner.Run("validate", dir.Path);

        Assert.Equal(2, code);
        Assert.Contains("is a directory", err, StringComparison.Ordinal);
    }

    /// <summary>A named pipe with no writer: opening it for reading would wait forever.</summary>
    private static string Fifo(TempDir dir)
    {
        string path = dir.File("piped.jsonl");
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    [Theory]
    [InlineData("validate")]
    [InlineData("estimate")]
    [InlineData("split")]
    [InlineData("run")]
    public async Task APipeOrDevice_ExitsTwoWithASentence_AndNeverWaits(string command)
    {
        using var dir = new TempDir();
        foreach (string path in new[] { Fifo(dir), "/dev/zero", dir.Write("empty.jsonl", "") })
        {
            string[] args = command switch
            {
                "split" => [command, path, "--out", dir.File("out")],
                "run" => [command, path, "--data", dir.File("data")],
                _ => [command, path],
            };

            var run = Task.Run(() => CliRunner.Run(args));
            Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))) == run, $"{command} {path} hangs");
            var (code, _, err) = await run;
            Assert.True(code == 2, $"{command} {path}: {code} {err}");
            Assert.Contains("is empty, or is a pipe or device rather than a file", err, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        }
    }

    /// <summary>Bytes without a line break, for ever.</summary>
    private sealed class Endless : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill((byte)'a');
            Position += count;
            return count;
        }

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void ALineWithNoBreakInSight_StopsReading_WithAFindingThatSaysSo()
    {
        using var endless = new Endless();

        ShardReport shard = new DatasetValidator(new ValidationOptions()).ValidateShard(endless);

        Finding stopped = Assert.Single(shard.Codes[FindingCodes.LineTooLong].Samples);
        Assert.Contains("reading stopped here", stopped.Message, StringComparison.Ordinal);
        Assert.InRange(endless.Position, JsonlLineReader.GiveUpBytes, JsonlLineReader.GiveUpBytes + (64L << 20));
    }
}

/// <summary>Runs the CLI in-process with captured output.</summary>
public static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = FinetuneCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

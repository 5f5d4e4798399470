using Spectre.Console;

namespace FineTuning.Local.Cli;

/// <summary>A column of a <see cref="FittedTable"/>: its header and how a record shows in it.</summary>
internal sealed record FittedColumn<T>(string Header, Func<T, string> Value);

/// <summary>
/// Records as a table that fits the width without cutting a cell: the columns are given most important first and the
/// first <c>essential</c> always show; the others join in that order while the table still fits, and a note names those
/// left out. When fewer than three columns would fit, each record is a block with a line per field instead.
/// </summary>
internal static class FittedTable
{
    public static void Write<T>(
        IAnsiConsole console,
        TextWriter writer,
        IReadOnlyList<T> records,
        IReadOnlyList<FittedColumn<T>> columns,
        int essential,
        string more
    )
    {
        int width = console.Profile.Width;
        string[][] cells = [.. records.Select(r => columns.Select(c => c.Value(r)).ToArray())];
        int Natural(int column) => Math.Max(columns[column].Header.Length, cells.Length == 0 ? 0 : cells.Max(row => row[column].Length));

        // A rounded table takes 1 + 3 columns per cell around the text ("│ a │ b │").
        var shown = new List<int>();
        int used = 1;
        for (int i = 0; i < columns.Count; i++)
        {
            int cost = Natural(i) + 3;
            if (i < essential || used + cost <= width)
            {
                shown.Add(i);
                used += cost;
            }
        }

        if (used > width || shown.Count < Math.Min(3, columns.Count))
        {
            WriteBlocks(writer, columns, cells);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (int i in shown)
        {
            table.AddColumn(new TableColumn(Markup.Escape(columns[i].Header)).NoWrap());
        }

        foreach (string[] row in cells)
        {
            table.AddRow([.. shown.Select(i => Markup.Escape(row[i]))]);
        }

        console.Write(table);
        string[] left = [.. Enumerable.Range(0, columns.Count).Except(shown).Select(i => columns[i].Header)];
        if (left.Length > 0 && cells.Length > 0)
        {
            console.Write(new Text($"Not shown at this width: {string.Join(", ", left)} ({more}).\n"));
        }
    }

    /// <summary>A block per record: its first field as a heading, then a line per other field that has a value.</summary>
    private static void WriteBlocks<T>(TextWriter writer, IReadOnlyList<FittedColumn<T>> columns, string[][] cells)
    {
        int label = columns.Skip(1).Select(c => c.Header.Length).DefaultIfEmpty(0).Max();
        foreach (string[] row in cells)
        {
            writer.WriteLine(row[0]);
            for (int i = 1; i < columns.Count; i++)
            {
                if (row[i].Length > 0)
                {
                    writer.WriteLine($"  {columns[i].Header.PadRight(label)}  {row[i]}");
                }
            }

            writer.WriteLine();
        }
    }
}

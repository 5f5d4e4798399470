using FineTuning.Core.Datasets;

namespace FineTuning.Local.Cli;

internal static class ReportJson
{
    public static void Write<T>(TextWriter stdout, T report)
    {
        stdout.WriteLine(LocalJson.Serialize(report));
    }
}

using System.Diagnostics;
using FineTuning.Core.Datasets;
using FineTuning.Core.Tokens;
using FineTuning.Local.Tokens;

namespace FineTuning.Benchmarks;

/// <summary>
/// The approximation against the exact o200k_base counts, file by file (the README's table in "Token counts"), with
/// the time each takes to validate the file on one thread.
/// </summary>
public static class TokenCalibration
{
    public static int Run(IEnumerable<string> files)
    {
        _ = TiktokenTokenEstimator.O200kBase; // the vocabulary loads once, outside the timings
        Console.WriteLine($"{"file", -56} {"approx-o200k", 12} {"o200k_base", 12} {"error", 7} {"approx s", 9} {"exact s", 8}");
        long approxAll = 0,
            exactAll = 0;
        foreach (string file in files)
        {
            (long approx, double approxSeconds) = Total(file, ApproximateTokenEstimator.Instance);
            (long exact, double exactSeconds) = Total(file, TiktokenTokenEstimator.O200kBase);
            approxAll += approx;
            exactAll += exact;
            Console.WriteLine(
                $"{Path.GetFileNameWithoutExtension(file), -56} {approx, 12:N0} {exact, 12:N0} {Error(approx, exact), 7} "
                    + $"{approxSeconds, 9:N2} {exactSeconds, 8:N2}"
            );
        }

        Console.WriteLine($"{"all", -56} {approxAll, 12:N0} {exactAll, 12:N0} {Error(approxAll, exactAll), 7}");
        return 0;
    }

    private static string Error(long approx, long exact) => exact == 0 ? "-" : $"{(approx - exact) * 100.0 / exact:+0.0;-0.0}%";

    private static (long Tokens, double Seconds) Total(string file, ITokenEstimator tokens)
    {
        var sw = Stopwatch.StartNew();
        DatasetReport report = new DatasetValidator(new ValidationOptions { Tokens = tokens, MinExamples = 0 }).ValidateFile(file);
        return (report.Tokens.TokensPerExample?.Total ?? 0, sw.Elapsed.TotalSeconds);
    }
}

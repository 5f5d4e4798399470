namespace FineTuning.Core.Datasets;

/// <summary>Writes a file through a temporary file in the same folder and a rename, so readers never see half of it.</summary>
public static class AtomicFile
{
    public static T Write<T>(string path, Func<FileStream, T> write)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(
            Path.GetDirectoryName(full)!,
            $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"
        );
        try
        {
            T result;
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                result = write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
            return result;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// A scratch file in <paramref name="directory"/>, open for reading and writing, whose name is removed at once: the
    /// open handle keeps the data, and nothing is left behind when the handle closes or the process is killed.
    /// </summary>
    public static FileStream OpenScratch(string directory, string namePrefix, int bufferSize)
    {
        string path = Path.Combine(directory, $"{namePrefix}{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Delete, bufferSize);
        File.Delete(path);
        return stream;
    }

    public static void WriteAllText(string path, string text) => Write(path, stream =>
        {
            using var writer = new StreamWriter(
                stream,
                new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
                leaveOpen: true
            );
            writer.Write(text);
            writer.Write('\n');
            return 0;
        });

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

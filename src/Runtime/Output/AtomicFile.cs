namespace ImageFlowIO.Output;

/// <summary>Writes files to a temporary name in the same folder, then renames them into place: readers never see half a file.</summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OutputException(ErrorCodes.OutputNotWritable, dir, $"the output folder cannot be created ({ex.Message}); choose a writable folder", ex);
        }
        try { Replace(path, write); }
        catch (Exception ex) when (ex is not ImageFlowException)
        {
            if (ex is UnauthorizedAccessException)
                throw new OutputException(ErrorCodes.OutputNotWritable, path, "the output file cannot be written (permission denied); make the output folder writable or choose another", ex);
            if (ex is IOException io && IsDiskFull(io))
                throw new OutputException(ErrorCodes.OutputDiskFull, path, "the disk is full; free space or choose another output folder", ex);
            if (ex is IOException)
                throw new OutputException(ErrorCodes.OutputWriteFailed, path, $"the output file cannot be written ({ex.Message})", ex);
            throw;
        }
    }

    /// <summary>
    /// The one temp-and-rename: writes to a temporary name that says who writes it (<see cref="TempFileOwner.TempPath"/>)
    /// in the file's (existing) folder and renames it into place; I/O exceptions come through as they are, and the
    /// temporary file is always removed (a killed writer's is removed by a later run: <see cref="TempFileOwner.Sweep"/>).
    /// </summary>
    internal static void Replace(string path, Action<Stream> write)
    {
        var temp = TempFileOwner.TempPath(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: false);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>The extension of every temporary file this writes (runs and cache maintenance remove abandoned ones).</summary>
    internal const string TempExtension = ".tmp";

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    private static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) is 28 or 112 || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);

    internal static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

namespace ImageFlowIO.Tests.Support;

/// <summary>Test data copied next to the test assembly (tests/TestData, Fixtures).</summary>
public static class TestPaths
{
    public static string Root => AppContext.BaseDirectory;
    public static string Image(string name) => Path.Combine(Root, "TestData", "images", name);
    public static string Bad(string name) => Path.Combine(Root, "TestData", "bad", name);
    public static string Model(string name) => Path.Combine(Root, "TestData", "models", name);
    public static string Fixture(params string[] parts) => Path.Combine([Root, "Fixtures", .. parts]);
    public static string Models => Path.Combine(Root, "TestData", "models");

    /// <summary>The repository's root (the folder holding ImageFlowIO.slnx), found upwards from the test assembly: the samples' real models and photos.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(Root); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ImageFlowIO.slnx"))) return dir.FullName;
            throw new InvalidOperationException("the repository root (ImageFlowIO.slnx) is not above " + Root);
        }
    }
}

/// <summary>A fresh temporary folder per test, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ifio-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string relative, string content)
    {
        var full = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public string Copy(string source, string? relative = null)
    {
        var full = Combine(relative ?? System.IO.Path.GetFileName(source));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.Copy(source, full, overwrite: true);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

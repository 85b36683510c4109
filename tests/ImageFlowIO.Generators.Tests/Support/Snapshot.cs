namespace ImageFlowIO.Generators.Tests.Support;

/// <summary>
/// Compares text with a reviewed expected file in Snapshots/ (plain files, reviewed like code).
/// <c>IMAGEFLOW_UPDATE_SNAPSHOTS=1</c> rewrites the expected files instead of failing.
/// </summary>
internal static class Snapshot
{
    public static void Match(string name, string actual)
    {
        var path = Path.Combine(GeneratorHarness.SnapshotsDirectory(), name);
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("IMAGEFLOW_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"snapshot {path} is missing; run the tests with IMAGEFLOW_UPDATE_SNAPSHOTS=1 and review the new file");
        var expected = File.ReadAllText(path).Replace("\r\n", "\n");
        if (expected == actual) return;
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        var line = 0;
        while (line < expectedLines.Length && line < actualLines.Length && expectedLines[line] == actualLines[line]) line++;
        Assert.Fail($"generated source differs from {path} at line {line + 1}:\n  expected: {(line < expectedLines.Length ? expectedLines[line] : "<end>")}\n  actual:   {(line < actualLines.Length ? actualLines[line] : "<end>")}\n(set IMAGEFLOW_UPDATE_SNAPSHOTS=1 to accept, then review the diff)");
    }
}

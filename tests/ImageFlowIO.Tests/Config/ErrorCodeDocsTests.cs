using System.Reflection;
using ImageFlowIO.Config;

namespace ImageFlowIO.Tests.Config;

/// <summary>docs/errors.md lists every stable code the product can report, and nothing it cannot.</summary>
public class ErrorCodeDocsTests
{
    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ImageFlowIO.slnx"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, relative);
    }

    [Fact]
    public void Every_code_is_documented_and_every_documented_code_exists()
    {
        var codes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Concat(typeof(ConfigErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        var documented = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(RepoFile("docs/errors.md")), @"^\| (IFIO\d{4}) \|", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Empty(codes.Except(documented));
        Assert.Empty(documented.Except(codes));
    }
}

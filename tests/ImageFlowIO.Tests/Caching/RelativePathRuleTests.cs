using ImageFlowIO.Caching;

namespace ImageFlowIO.Tests.Caching;

/// <summary>A relative output path read from a cache (an entry, the up-to-date index) is trusted only when it stays below its folder.</summary>
public sealed class RelativePathRuleTests
{
    [Theory]
    [InlineData("a.png")]
    [InlineData("raw/a.npy")]
    [InlineData("deep/er/a b.png")]
    [InlineData("com0.png")] // COM0 and LPT0 are no device names
    [InlineData("lpt0")]
    [InlineData("COM10.txt")]
    [InlineData("console.png")]
    [InlineData("nul_x.png")]
    [InlineData("x.con")]
    [InlineData("co")]
    public void A_plain_path_below_the_folder_passes(string path) => Assert.Null(OutputBundle.CheckRelativePath(path));

    [Theory]
    [InlineData("", "empty or too long")]
    [InlineData("a\u0001.png", "control character")]
    [InlineData("a\n.png", "control character")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("\\x.png", "absolute path")]
    [InlineData("c:x.png", "absolute path")]
    [InlineData("../a.png", "'.', '..' or an empty folder name")]
    [InlineData("a/../../b.png", "'.', '..' or an empty folder name")]
    [InlineData("a//b.png", "'.', '..' or an empty folder name")]
    [InlineData("a/./b.png", "'.', '..' or an empty folder name")]
    [InlineData("a/", "'.', '..' or an empty folder name")]
    [InlineData("a\\..\\b.png", "'.', '..' or an empty folder name")]
    [InlineData("con", "a device name")]
    [InlineData("CON.png", "a device name")]
    [InlineData("raw/nul.tar.gz", "a device name")]
    [InlineData("Aux  .png", "a device name")] // trailing spaces before the dot do not hide it
    [InlineData("conout$.txt", "a device name")]
    [InlineData("CONIN$", "a device name")]
    [InlineData("prn\\x.png", "a device name")]
    [InlineData("com1.png", "a device name")]
    [InlineData("LPT9", "a device name")]
    public void An_unsafe_path_is_rejected_with_the_reason(string path, string why) => Assert.Equal(why, OutputBundle.CheckRelativePath(path));

    [Fact]
    public void A_path_over_the_length_limit_is_rejected() =>
        Assert.Equal("empty or too long", OutputBundle.CheckRelativePath(new string('a', 5000)));
}

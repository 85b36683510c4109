// What do the app's screenshots say? The build read them (imageflow.json) and compiled the text into ImageFlowAssets:
// no model, no image decoding at run time.
using System.Globalization;
using ScreenshotText;

foreach (var asset in ImageFlowAssets.All)
{
    if (!asset.Succeeded)
    {
        Console.WriteLine($"{asset.Path}: failed: {asset.ErrorCode} {asset.ErrorMessage}");
        continue;
    }
    Console.WriteLine($"{asset.Path}: {asset.Lines.Count} lines");
    foreach (var line in asset.Lines)
        Console.WriteLine($"  {line.Score.ToString("0.000", CultureInfo.InvariantCulture)}  {line.Text}");
    foreach (var check in asset.Checks) Console.WriteLine($"  ! {check.Code} {check.Id}: {check.Message}");
}

// Members are typed: the checkout screen's text, as one string.
Console.WriteLine(ImageFlowAssets.Assets.Checkout.Text.Replace("\n", " | "));

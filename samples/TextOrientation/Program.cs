// Which of the text photos this app ships are upside down? The build ran the orientation classifier over every asset
// (imageflow.json) and compiled the answers into ImageFlowAssets: no model, no image decoding at run time.
using System.Globalization;
using TextOrientation;

foreach (var asset in ImageFlowAssets.All)
{
    if (!asset.Succeeded)
    {
        Console.WriteLine($"{asset.Path,-28} failed: {asset.ErrorCode} {asset.ErrorMessage}");
        continue;
    }
    var verdict = asset.TopLabel == "180" ? "upside down: rotate before use" : "upright";
    Console.WriteLine($"{asset.Path,-28} {asset.InputWidth,3}x{asset.InputHeight,-3} {asset.TopLabel,3}° {asset.TopScore.ToString("0.0000", CultureInfo.InvariantCulture)}  {verdict}");
}

// Members are typed: renaming or removing the photo turns this line into a compile error, not a run-time surprise.
var fragile = ImageFlowAssets.Assets.Labels.Fragile;
Console.WriteLine($"{fragile.Path}: {(fragile.TopLabel == "180" ? "flip it" : "fine")} (meta file {fragile.Outputs[0]})");

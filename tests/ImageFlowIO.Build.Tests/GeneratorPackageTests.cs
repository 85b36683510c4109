namespace ImageFlowIO.Build.Tests;

/// <summary>
/// The source generator as a user meets it: a fresh project restoring the ImageFlowIO package gets a typed pipeline
/// class from its imageflow.json, and a typo in the JSON fails the build at the JSON's line and column.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class GeneratorPackageTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    private const string ConfigJson = """
        {
          "model": { "name": "invert", "path": "models/invert.onnx" },
          "preprocessing": {
            "resize": { "apply": true, "imageSize": [24, 16], "resizeMode": "crop" },
            "normalize": { "apply": true, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25] }
          }
        }
        """;

    private ConsumerProject CreateApp(string name)
    {
        var app = new ConsumerProject(feed, name);
        File.WriteAllText(app.ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RootNamespace>Consumer.App</RootNamespace>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ImageFlowIO" Version="{feed.Version}" />
                <None Include="imageflow.json" CopyToOutputDirectory="PreserveNewest" />
              </ItemGroup>
            </Project>
            """);
        app.Copy(TestData("models", "invert_nchw.onnx"), "models/invert.onnx");
        app.Copy(TestData("images", "photo_160x120.png"), "photo.png");
        app.WriteConfig(ConfigJson);
        File.WriteAllText(app.File_("Program.cs"), """
            using System.Security.Cryptography;
            using ImageFlowIO;
            using Consumer.App;

            var image = args[0];
            using var typed = new InvertPipeline();
            var generated = typed.Preprocess(image);
            using var untyped = Pipeline.FromConfig(Path.Combine(AppContext.BaseDirectory, "imageflow.json"));
            var parsed = untyped.Preprocess(image);
            var result = await typed.RunAsync(image);
            Console.WriteLine($"constants {InvertPipeline.InputWidth}x{InvertPipeline.InputHeight}x{InvertPipeline.InputChannels}");
            Console.WriteLine($"generated [{string.Join(",", generated.Shape)}] {Convert.ToHexString(SHA256.HashData(generated.Bytes))}");
            Console.WriteLine($"parsed [{string.Join(",", parsed.Shape)}] {Convert.ToHexString(SHA256.HashData(parsed.Bytes))}");
            Console.WriteLine($"run ok={result.Succeeded} output=[{string.Join(",", result.Output!.Shape)}] first={result.Output.AsFloat32()[0]:R} input0={generated.AsFloat32()[0]:R}");
            """);
        return app;
    }

    [Fact]
    public void Generated_class_gives_the_same_tensor_as_Pipeline_FromConfig_and_a_typo_fails_the_build_at_its_line()
    {
        var app = CreateApp("GeneratedApp");
        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.True(File.Exists(app.Bin("models/invert.onnx")), "the props copy the config's model to the output folder");

        var run = Dotnet.Run(app.BinFolder, Path.Combine(app.BinFolder, "GeneratedApp.dll"), app.File_("photo.png"));
        Assert.True(run.ExitCode == 0, run.Output);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("constants 24x16x3", lines);
        var generated = lines.Single(l => l.StartsWith("generated ", StringComparison.Ordinal))["generated ".Length..];
        var parsed = lines.Single(l => l.StartsWith("parsed ", StringComparison.Ordinal))["parsed ".Length..];
        Assert.StartsWith("[1,3,16,24] ", generated);
        Assert.Equal(parsed, generated);
        // The model inverts its input: output = 1 - x for the normalised tensor the generated class produced.
        var runLine = lines.Single(l => l.StartsWith("run ", StringComparison.Ordinal));
        Assert.Contains("ok=True output=[1,3,16,24]", runLine);
        var first = float.Parse(runLine.Split("first=")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var input0 = float.Parse(runLine.Split("input0=")[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1f - input0, first, 5);

        // A typo in the JSON: the build fails at the token, in the JSON file, with the config's diagnostic ID.
        app.WriteConfig(ConfigJson.Replace("\"resizeMode\"", "\"resizeMod\""));
        var broken = app.Build();
        Assert.NotEqual(0, broken.ExitCode);
        Assert.True(broken.Output.Contains($"{app.File_("imageflow.json")}(4,55): error IFIO0002: unknown property 'resizeMod' in 'preprocessing.resize' (did you mean 'resizeMode'?)", StringComparison.Ordinal), broken.Output);
    }
}

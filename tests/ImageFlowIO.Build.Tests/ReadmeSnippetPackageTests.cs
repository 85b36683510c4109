namespace ImageFlowIO.Build.Tests;

/// <summary>
/// Issue 26: README's "Runtime API" block, pasted as it stands into a fresh console project (the template's implicit
/// usings, nothing else) that references the packed ImageFlowIO package, builds and runs: one image and a batch of four.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class ReadmeSnippetPackageTests(PackageFeedFixture feed)
{
    private static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>The first csharp block under README's "## Runtime API" heading.</summary>
    private static string RuntimeApiBlock()
    {
        var readme = File.ReadAllText(Path.Combine(PackageFeedFixture.RepoRoot, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var section = readme[readme.IndexOf("\n## Runtime API\n", StringComparison.Ordinal)..];
        var start = section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        return section[start..section.IndexOf("\n```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void Readme_runtime_api_block_builds_and_runs_in_a_fresh_console_project()
    {
        var app = new ConsumerProject(feed, "ReadmeApp");
        File.WriteAllText(app.ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ImageFlowIO" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        app.Copy(TestData("models", "invert_nchw.onnx"), "run/model.onnx");
        app.Copy(TestData("images", "photo_160x120.jpg"), "run/photo.jpg");
        foreach (var (name, i) in new[] { "photo_160x120.png", "photo_64x48.png", "gradient_33x17.png", "solid_red_32x32.png" }.Select((n, i) => (n, i)))
            app.Copy(TestData("images", name), $"run/in/{i}.png");
        // The config is read at run time from the working folder (as the block's "imageflow.json"): not an AdditionalFile.
        app.WriteConfig("""
            {
              "model": { "path": "model.onnx" },
              "preprocessing": { "resize": { "apply": true, "imageSize": [24, 16] }, "format": { "dataType": "float32", "channels": 3 } },
              "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
              "output": { "save": { "apply": true, "path": "out", "format": "png", "filename": "{name}.png" } }
            }
            """, "run/imageflow.json");
        File.WriteAllText(app.File_("Program.cs"), RuntimeApiBlock() + """

            Console.WriteLine($"one {one.Succeeded} {one.Outputs.Count}");
            Console.WriteLine($"batch {all.Items.Count(i => i.Succeeded)}/{all.Items.Count}");
            """);

        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        var run = Dotnet.Run(app.File_("run"), Path.Combine(app.BinFolder, "ReadmeApp.dll"));
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("one True 1", run.Output, StringComparison.Ordinal);
        Assert.Contains("batch 4/4", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(app.File_("run/out/photo.png")));
        Assert.Equal(4, Directory.GetFiles(app.File_("run/out"), "?.png").Length);
    }
}

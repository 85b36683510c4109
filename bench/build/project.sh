# The bench project (sourced by run.sh and compare.sh): N photos in ../images as ImageFlowAsset items, built with the
# props, targets and task of a source tree. Needs REPO and MODEL (ocr: samples/TextDetection's config; conv3).
make_project() { # $1: folder, $2: source tree whose props and targets it imports (default $REPO), $3: its task folder (default $TASK_DIR)
  local src=${2:-$REPO} task=${3:-$TASK_DIR}
  mkdir -p "$1"
  cat > "$1/Directory.Build.props" <<XML
<Project>
  <Import Project="$src/ImageFlowIO.Build.props" />
</Project>
XML
  cat > "$1/Directory.Build.targets" <<XML
<Project>
  <PropertyGroup><ImageFlowTaskAssembly>$task/ImageFlowIO.Tasks.dll</ImageFlowTaskAssembly></PropertyGroup>
  <!-- The bench project has no PackageReference, so no restore resolves ONNX Runtime for a packed task (which no longer
       carries it): the same file from the repo's task build, as a consumer's restore would hand it over. -->
  <PropertyGroup Condition="!Exists('$task/runtimes')"><ImageFlowOnnxRuntimeLibrary>$REPO/src/Tasks/bin/Release/net10.0/runtimes/linux-x64/native/libonnxruntime.so</ImageFlowOnnxRuntimeLibrary></PropertyGroup>
  <Import Project="$src/src/Tasks/build/ImageFlowIO.targets" />
</Project>
XML
  cat > "$1/Bench.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><ImageFlowAsset Include="../images/*.jpg" /></ItemGroup>
</Project>
XML
  if [ "$MODEL" = conv3 ]; then
    cp "$REPO/tests/TestData/models/conv3_nchw.onnx" "$1/model.onnx"
    cat > "$1/imageflow.json" <<JSON
{ "model": { "path": "model.onnx" }, "execution": { "backend": "onnx" },
  "preprocessing": { "format": { "dataType": "float32", "channels": 3 } },
  "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
  "output": { "save": { "apply": true, "format": "png", "filename": "{name}.out.png" } } }
JSON
  else
    # the sample's model by absolute path, and backend onnx: a model that moved fails the bench instead of running noop
    sed "s#\"models/#\"$REPO/samples/TextDetection/models/#; s#\"\.\./\.\./src/#\"$REPO/src/#; s#\"useCaching\"#\"backend\": \"onnx\", \"useCaching\"#" \
      "$REPO/samples/TextDetection/imageflow.json" > "$1/imageflow.json"
    grep -q '"backend": "onnx"' "$1/imageflow.json" || { echo "bench: cannot adapt samples/TextDetection/imageflow.json" >&2; exit 1; }
  fi
  dotnet restore "$1/Bench.csproj" -v:q >/dev/null
}

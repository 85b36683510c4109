#!/usr/bin/python3
"""Share of a `perf record -g` profile of a W1 run by pipeline part, from each sample's whole stack, and ms of CPU per
image. A sample with ONNX Runtime anywhere in its stack is ONNX Runtime's; otherwise the first part whose frame pattern
the stack holds (GC before the stage that allocated, the kernel last). Needs the AOT tool's .dbg beside it.

    perf record -F 999 -g -o w1.data ImageFlowIO.Cli -c conv3.json --cache none -o out --no-progress
    bench/startup/profile-parts.py w1.data [more.data ...]     (several runs of 240 images: summed)
"""
import collections
import re
import subprocess
import sys

PARTS = [
    ("ONNX Runtime", r"libonnxruntime"),
    ("GC and allocation", r"WKS::|SVR::|GCHeap|RhpNew|RhpGcAlloc|RhAllocate|GcAlloc|gc_heap"),
    ("PNG (zlib-ng, Up filter, CRC)", r"PngWriter"),
    ("JPEG decode (ImageSharp)", r"Jpeg"),
    ("resize + normalise in one pass", r"ResizeNormalizeKernel"),
    ("resize (ImageSharp)", r"Resize"),
    ("output statistics", r"OutputChannelStatistics"),
    ("tensor fill, quantize, FromTensor", r"TensorWriter|Quantize|FromTensor|FloatImage|Preprocessor"),
    ("kernel (file creation, writes, page faults)", r"kernel\.kallsyms"),
]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    images, hz = 240 * (len(argv) - 1), 999
    counts, total = collections.Counter(), 0
    for data in argv[1:]:
        script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"], capture_output=True, text=True, check=True).stdout
        for stack in script.strip().split("\n\n"):
            total += 1
            counts[next((name for name, pattern in PARTS if re.search(pattern, stack)), "other")] += 1
    print(f"{len(argv) - 1} run(s), {total} samples at {hz} Hz = {total / hz * 1000 / images:.1f} ms of CPU per image")
    for name, n in counts.most_common():
        print(f"| {name} | {100 * n / total:.1f}% ({n / hz * 1000 / images:.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

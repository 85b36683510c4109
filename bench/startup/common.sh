# Shared by run.sh and pairs.sh (sourced): the conv3 benchmark config, one timed process, a median.

config() { # $1 input folder, $2 output folder
  cat <<JSON
{
  "model": { "name": "conv3", "path": "model.onnx" },
  "input": { "type": "image", "source": "$1" },
  "preprocessing": {
    "resize": { "apply": true, "imageSize": [320, 320], "keepAspectRatio": false, "kernel": "cubic" },
    "format": { "dataType": "float32", "channels": 3, "channelOrder": "rgb" },
    "normalize": { "apply": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] }
  },
  "postprocessing": { "denormalize": { "apply": true, "scale": 255, "dtype": "uint8" } },
  "execution": { "useCaching": "disk" },
  "output": { "save": { "apply": true, "path": "$2", "format": "png" } }
}
JSON
}

measure() { # runs "$@" once in a new process; prints "wall_ms cpu_ms" (cpu = user + sys of it and its children)
  local TIMEFORMAT='%3R %3U %3S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "FAILED: $*" >&2; return 1; }
  awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' <<<"$t"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

#!/bin/bash
# Resumes the demo model's training run whose state this folder holds (README.md beside it):
# lays the work folder out at WORK (default /work/train-runs/genvideo-shapes/work; an existing one
# is resumed as it is), joins the UNet optimizer checkpoint's parts (each under the 20 MB a
# repository file may have), builds gv-train-model and runs it in the background with its log
# at WORK/../log.txt. The finished model goes to OUT (default WORK/../model).
#   models/genvideo-shapes-run/resume.sh [WORK [OUT]]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$(realpath -m "${1:-/work/train-runs/genvideo-shapes/work}")
out=$(realpath -m "${2:-$(dirname "$work")/model}")
log=$(dirname "$work")/log.txt

if [ ! -d "$work" ]; then
  mkdir -p "$(dirname "$work")"
  cp -r "$here/work" "$work"
  for first in "$work"/*.safetensors.part-aa; do
    [ -e "$first" ] || continue
    whole=${first%.part-aa}
    cat "$whole".part-* > "$whole"
    rm "$whole".part-*
  done
fi
cd "$src"
source tests/debian-setup.sh
gv_install_packages
gv_configure
ninja -C "$GV_BUILD_DIR" tools/train/gv-train-model
bin=$(realpath "$GV_BUILD_DIR/tools/train/gv-train-model")
nohup "$bin" --out "$out" --work "$work" >>"$log" 2>&1 &
echo "resumed in the background (pid $!): tail -f $log; the model goes to $out"

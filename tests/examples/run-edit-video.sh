#!/bin/bash
# Runs examples/edit-video.py (PyGObject) on a small WebM file made here: the edit and the masks
# must come out as videos of every frame. Arguments: the example script, a scratch folder.
set -euo pipefail
script=$1
dir=$2
target=$3
mkdir -p "$dir"
rm -f "$dir"/*.webm
gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=8 ! \
  video/x-raw,width=96,height=96,framerate=25/1 ! vp8enc ! webmmux ! \
  filesink location="$dir/input.webm"
/usr/bin/python3 "$script" "$dir/input.webm" "$dir/edit.webm" --masks "$dir/masks.webm" \
  --target "$target" --source-prompt "a white ball" --target-prompt "a red disc" \
  --size 64 --steps 2 --clip-frames 4
for f in edit masks; do
  n=$(gst-launch-1.0 -v filesrc location="$dir/$f.webm" ! matroskademux ! vp8dec ! \
    fakesink silent=false 2>/dev/null | grep -c 'last-message = chain' || true)
  if [ "$n" != 8 ]; then
    echo "FAILED: $f.webm decodes to $n frames, not 8" >&2
    exit 1
  fi
done
echo "edit-video.py: edit and masks written, 8 frames each"

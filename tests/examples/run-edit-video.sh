#!/bin/bash
# Runs examples/edit-video.py (PyGObject) on a small WebM file made here: the edit and the masks
# must come out as videos of every frame, and the progress bar must follow every stage to 100 %.
# Arguments: the example script, a scratch folder, the target image, gstgenvideomessages.h.
set -euo pipefail
script=$1
dir=$2
target=$3
header=$4
# the script matches the message name the elements post
name=$(sed -n 's/^#define GST_GEN_VIDEO_MESSAGE_PROGRESS "\(.*\)"$/\1/p' "$header")
if ! grep -q "^PROGRESS = \"$name\"\$" "$script"; then
  echo "FAILED: $script does not match the messages named \"$name\" ($header)" >&2
  exit 1
fi
mkdir -p "$dir"
rm -f "$dir"/*.webm
gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=8 ! \
  video/x-raw,width=96,height=96,framerate=25/1 ! vp8enc ! webmmux ! \
  filesink location="$dir/input.webm"
/usr/bin/python3 "$script" "$dir/input.webm" "$dir/edit.webm" --masks "$dir/masks.webm" \
  --target "$target" --source-prompt "a white ball" --target-prompt "a red disc" \
  --size 64 --steps 2 --clip-frames 4 2> "$dir/stderr.txt" || status=$?
cat "$dir/stderr.txt" >&2
if [ "${status:-0}" != 0 ]; then
  exit "$status"
fi
# not on a terminal, the bar writes a line at 0 % and at 100 % of each stage
for stage in "tune encoding" "edit inversion" "edit masks"; do
  set -- $stage
  n=$(grep -cE "^ *$1 +$2 .* 100%$" "$dir/stderr.txt" || true)
  if [ "$n" != 2 ]; then
    echo "FAILED: $n progress lines at 100 % for $1 $2, not 2 (one per clip)" >&2
    exit 1
  fi
done
for f in edit masks; do
  n=$(gst-launch-1.0 -v filesrc location="$dir/$f.webm" ! matroskademux ! vp8dec ! \
    fakesink silent=false 2>/dev/null | grep -c 'last-message = chain' || true)
  if [ "$n" != 8 ]; then
    echo "FAILED: $f.webm decodes to $n frames, not 8" >&2
    exit 1
  fi
done
echo "edit-video.py: edit and masks written, 8 frames each"

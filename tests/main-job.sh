#!/bin/bash
# The main job: installs what it needs, builds, and runs the three GenVideo stages on a test
# clip, writing a playable WebM file (default: genvideo-main-job.webm in the build folder, or
# the path given as the first argument); then checks that the file decodes to all 24 frames.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/debian-setup.sh

gv_install_packages
gv_configure
ninja -C "$GV_BUILD_DIR"

out=$(realpath -m "${1:-$GV_BUILD_DIR/genvideo-main-job.webm}")
rm -f "$out"
meson devenv -C "$GV_BUILD_DIR" gst-launch-1.0 -m \
  videotestsrc pattern=ball num-buffers=24 ! video/x-raw,width=256,height=256 ! videoconvert ! \
  genvideotune ! invedit ! latentcorrect ! \
  videoconvert ! vp8enc ! webmmux ! filesink location="$out"

gst-discoverer-1.0 "$out"
# fakesink reports every frame it gets as "last-message = chain"
frames=$(gst-launch-1.0 -v filesrc location="$out" ! matroskademux ! vp8dec ! \
  fakesink silent=false 2>/dev/null | grep -c 'last-message = chain' || true)
if [ "$frames" != 24 ]; then
  echo "FAILED: $out decodes to $frames frames, not 24" >&2
  exit 1
fi
echo "Wrote $out: 24 frames that decode."

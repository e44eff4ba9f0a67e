#!/bin/bash
# The main job: installs what it needs, builds, and edits a bundled clip with the bundled model:
# the white ball of videotestsrc's "ball" clip becomes the red disc of tests/data/target-red-disc.png.
# The three stages run in one pipeline; a tee after invedit writes the InvEdit masks too.
# Writes two WebM files (default: genvideo-main-job.webm and genvideo-main-job-masks.webm in the
# build folder; the first argument names the edited video, the masks go beside it), then checks
# that both decode to all 24 frames.
#
# The bundled model is the tiny random-weight SD-2.1-unCLIP checkpoint of models/ (128x128 is
# its native size): the job shows the elements at work, not a model's quality. Point the
# elements' model property (or GENVIDEO_MODEL) at stabilityai/stable-diffusion-2-1-unclip and
# use 512x512 frames for a real edit; see docs/checkpoints.md. Steps are fewer than the elements'
# defaults so that the job takes minutes on a CPU (lavapipe).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/debian-setup.sh

gv_install_packages
gv_configure
ninja -C "$GV_BUILD_DIR"

out=$(realpath -m "${1:-$GV_BUILD_DIR/genvideo-main-job.webm}")
masks="${out%.webm}-masks.webm"
target=$(realpath tests/data/target-red-disc.png)
steps=${GENVIDEO_MAIN_JOB_STEPS:-20}
mkdir -p "$(dirname "$out")"
rm -f "$out" "$masks"

# -m shows each stage's progress messages and the genvideo-mask / genvideo-correction reports
meson devenv -C "$GV_BUILD_DIR" gst-launch-1.0 -m \
  videotestsrc pattern=ball num-buffers=24 ! video/x-raw,width=128,height=128,framerate=25/1 ! \
  videoconvert ! \
  genvideotune source-prompt="a white ball on a black background" steps=0 ! \
  invedit target-prompt="a red disc on a black background" target-location="$target" \
    inversion-steps="$steps" ! \
  tee name=t \
  t. ! queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! \
    latentcorrect steps="$steps" ! videoconvert ! vp8enc ! webmmux ! filesink location="$out" \
  t. ! queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! \
    invedit output=masks ! videoconvert ! vp8enc ! webmmux ! filesink location="$masks"

# fakesink reports every frame it gets as "last-message = chain"
for file in "$out" "$masks"; do
  gst-discoverer-1.0 "$file"
  frames=$(gst-launch-1.0 -v filesrc location="$file" ! matroskademux ! vp8dec ! \
    fakesink silent=false 2>/dev/null | grep -c 'last-message = chain' || true)
  if [ "$frames" != 24 ]; then
    echo "FAILED: $file decodes to $frames frames, not 24" >&2
    exit 1
  fi
done
echo "Wrote $out (the edit) and $masks (the masks): 24 frames each, they decode."

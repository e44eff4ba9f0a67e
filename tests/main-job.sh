#!/bin/bash
# The main job: installs what it needs, builds, and edits a clip with the default model: the
# white ball of videotestsrc's "ball" clip (24 frames, 128x128) becomes the red square of
# tests/data/target-red-square.png (drawn by the synthetic world's renderer, tools/world, so it
# is the square the demo model learnt). One pipeline: a tee of the source before the stages
# feeds a compositor, a tee after invedit writes the InvEdit masks too. Writes three WebM files
# (default in the build folder; the first argument names the edited video, the others go
# beside it): the edit, the masks, and source | masks | edit side by side; checks that each
# decodes to all 24 frames; writes a contact sheet of a few frames (rows: source, masks, edit)
# to docs/main-job-sheet.png (GENVIDEO_MAIN_JOB_SHEET names another file); prints the time the
# edit took.
#
# The model is the elements' default: models/genvideo-shapes (trained on the synthetic world)
# where it is there, else the tiny random-weight checkpoint of models/ (its pictures are noise:
# the job then shows the elements at work, not a model's quality). GENVIDEO_MODEL picks another.
set -euo pipefail
cd "$(dirname "$0")/.."

# The work of the job, in one place, sized for models/genvideo-shapes to finish within 10
# minutes on 2 CPU cores (lavapipe): the edit of the 24 frames took 2 min 17 s at 20 steps,
# 3 min 16 s at 30 and 4 min 17 s at 40, with 3 tuning steps, on an Intel Xeon, 2 vCPUs; 30
# draws the clearest edit of the three (docs/benchmark.md, "The shipped model").
steps=${GENVIDEO_MAIN_JOB_STEPS:-30}             # DDIM inversion and sampling steps
tune_steps=${GENVIDEO_MAIN_JOB_TUNE_STEPS:-3}    # Tune-A-Video steps per clip
frames=24

source tests/debian-setup.sh
gv_install_packages
gv_configure
ninja -C "$GV_BUILD_DIR"

out=$(realpath -m "${1:-$GV_BUILD_DIR/genvideo-main-job.webm}")
masks="${out%.webm}-masks.webm"
side="${out%.webm}-side-by-side.webm"
sheet=$(realpath -m "${GENVIDEO_MAIN_JOB_SHEET:-docs/main-job-sheet.png}")
target=$(realpath tests/data/target-red-square.png)
model=${GENVIDEO_MODEL:-$( [ -d models/genvideo-shapes ] && echo models/genvideo-shapes ||
  echo models/tiny-sd21-unclip)}
mkdir -p "$(dirname "$out")"
rm -f "$out" "$masks" "$side"
echo "Model: $model; $frames frames, $tune_steps tuning steps per clip, $steps steps"

# unbounded queues: the source and the masks wait in them for the edit, which comes last
q="queue max-size-buffers=0 max-size-time=0 max-size-bytes=0"
start=$SECONDS
# -m shows each stage's progress messages and the genvideo-mask / genvideo-correction reports
meson devenv -C "$GV_BUILD_DIR" gst-launch-1.0 -m \
  videotestsrc pattern=ball num-buffers=$frames ! \
  video/x-raw,format=RGB,width=128,height=128,framerate=25/1 ! tee name=source \
  source. ! $q ! \
    genvideotune source-prompt="a white ball on a black background" steps="$tune_steps" ! \
    invedit target-prompt="a red square on a black background" target-location="$target" \
      inversion-steps="$steps" ! tee name=t \
  t. ! $q ! latentcorrect steps="$steps" ! tee name=edit \
    edit. ! $q ! videoconvert ! vp8enc ! webmmux ! filesink location="$out" \
    edit. ! $q ! videoconvert ! mix.sink_2 \
  t. ! $q ! invedit output=masks ! tee name=masks \
    masks. ! $q ! videoconvert ! vp8enc ! webmmux ! filesink location="$masks" \
    masks. ! $q ! videoconvert ! mix.sink_1 \
  source. ! $q ! videoconvert ! mix.sink_0 \
  compositor name=mix sink_1::xpos=128 sink_2::xpos=256 ! \
    video/x-raw,width=384,height=128 ! videoconvert ! vp8enc ! webmmux ! \
    filesink location="$side"
elapsed=$((SECONDS - start))

# fakesink reports every frame it gets as "last-message = chain"
for file in "$out" "$masks" "$side"; do
  gst-discoverer-1.0 "$file"
  decoded=$(gst-launch-1.0 -v filesrc location="$file" ! matroskademux ! vp8dec ! \
    fakesink silent=false 2>/dev/null | grep -c 'last-message = chain' || true)
  if [ "$decoded" != $frames ]; then
    echo "FAILED: $file decodes to $decoded frames, not $frames" >&2
    exit 1
  fi
done
"$GV_BUILD_DIR/tools/clips/gv-video-sheet" --panels 3 --frames 4 --out "$sheet" "$side"

echo "Wrote $out (the edit), $masks (the masks) and $side (source | masks | edit):"
echo "$frames frames each, they decode. Contact sheet: $sheet."
echo "The edit took $((elapsed / 60)) min $((elapsed % 60)) s ($model, $steps steps," \
  "$tune_steps tuning steps per clip)."

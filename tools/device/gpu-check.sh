#!/bin/bash
# gpu-check.sh BUNDLE OUT_DIR, from the repository root: on a GPU machine, in one go,
#  1. the op tests (every kernel against its plain C reference, on random inputs): the GPU
#     kernel family on a real GPU;
#  2. UNet-only training runs of the demo model on the third run's CLIP and VAE, at batch 32,
#     for as many steps as TRAIN_S seconds allow (variants below);
#  3. their quality figures (3 clips of seed 0, 25 steps, guidance 2, no tuning; and the
#     image-only probe), with the third run's as the reference;
# then one archive per variant (model, logs, figures) and one of the rest in OUT_DIR.
# BUNDLE is what bundle.sh wrote. LOCAL=1 runs the same on a CPU with tiny numbers.
set -u
bundle=$(cd "${1:?usage: gpu-check.sh BUNDLE OUT_DIR}" && pwd)
out=${2:?usage: gpu-check.sh BUNDLE OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
t0=$(date +%s)
elapsed () { echo $(($(date +%s) - t0)); }
exec > >(tee -a "$out/log.txt") 2>&1
repo=$(pwd)
tmp=$(mktemp -d)
if [ "${LOCAL:-0}" = 1 ]; then
  TRAIN_S=${TRAIN_S:-60}; time_steps=2; ops_s=20; eval_s=400; clips=1; eval_steps=4
else
  for f in "$bundle"/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
  nvidia=/usr/local/nvidia/share  # where the lent machines mount NVIDIA's driver files
  [ -f $nvidia/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=$nvidia/vulkan/icd.d/nvidia_icd.json \
    __EGL_VENDOR_LIBRARY_FILENAMES=$nvidia/glvnd/egl_vendor.d/10_nvidia.json
  TRAIN_S=${TRAIN_S:-400}; time_steps=12; ops_s=50; eval_s=100; clips=3; eval_steps=25
  nvidia-smi -L 2> /dev/null
fi
export LD_LIBRARY_PATH=$bundle/lib
export GST_REGISTRY=$tmp/gst-registry.bin GST_PLUGIN_SYSTEM_PATH=$bundle/gst GST_PLUGIN_SCANNER=/nonexistent
bin=$bundle/bin
variants=${VARIANTS:-A B C}
echo "[$(elapsed) s] start, $(nproc) CPUs, variants $variants"

# 1. the op tests, all at once
mkdir -p "$tmp/ops"
ops=
for t in "$bin"/${OPS_GLOB:-test-*}; do
  n=$(basename "$t")
  (G_MESSAGES_DEBUG=genvideo timeout $ops_s "$t" > "$tmp/ops/$n.log" 2>&1; echo "$n rc $?" >> "$tmp/ops/rc.txt") &
  ops="$ops $!"
done

# 2. the work folders, meanwhile: the recipe's initial checkpoint (one CLIP step), then the
# third run's CLIP and VAE in its place, their stages marked done (models/README.md, run7)
prepare () {  # prepare NAME RECIPE_TEXT
  local w=$tmp/run-$1
  mkdir -p "$w"
  printf '%s\n' "$2" > "$w/recipe.ini"
  "$bin/gv-train-model" -q --template models/tiny-sd21-unclip --out "$w/out" --work "$w/w" \
    --recipe "$w/recipe.ini" --stop-after 1 --samples 0 > "$w/prepare.log" 2>&1
  for d in text_encoder image_encoder vae image_normalizer; do
    rm -rf "$w/w/model/$d"
    cp -r models/genvideo-shapes/$d "$w/w/model/"
  done
  for s in clip vae; do
    echo '{"step": 0, "sampler": 0, "done": true, "file": ""}' > "$w/w/$s.state.json"
  done
  rm -f "$w"/w/clip-*.safetensors
  echo "stage,step,loss,seconds,cpu_seconds" > "$w/w/loss.csv"
}
recipe () {
  case $1 in
    A) printf '[train]\nunet_batch=32\n' ;;                   # the built-in recipe, batch 32
    B) printf '[train]\nunet_batch=32\ntext_dropout=0.5\n' ;; # the image as the object's carrier
    C) printf '[train]\nunet_batch=32\n\n[unet/config.json]\n%s\n%s\n' \
         'block_out_channels=[64, 128, 128, 128]' 'attention_head_dim=[4, 8, 8, 8]' ;;  # twice the channels
  esac
}
pids=
for v in $variants; do
  prepare $v "$(recipe $v)" &
  pids="$pids $!"
done
wait $pids
echo "[$(elapsed) s] prepared"

# 3. each variant's speed, all at once as they will train, on throwaway copies
pids=
for v in $variants; do
  cp -r "$tmp/run-$v" "$tmp/time-$v"
  (cd "$tmp/time-$v" && sed -i "s/^unet_steps=.*/unet_steps=100000/" w/recipe.ini &&
    timeout 120 "$bin/gv-train-model" --template "$repo/models/tiny-sd21-unclip" --out out --work w \
      --recipe recipe.ini --steps unet=100000 --stop-after $time_steps --samples 0 > time.log 2>&1) &
  pids="$pids $!"
done
wait $pids
wait $ops
echo "[$(elapsed) s] op tests:"
sort "$tmp/ops/rc.txt"
grep -ho "device 0: .*" "$tmp"/ops/*.log | sort -u
grep -ilE "fail|not ok|Bail" "$tmp"/ops/*.log
left=$((TRAIN_S - $(elapsed)))
echo "[$(elapsed) s] training for about $left s"

# 4. train: 85% of the steps the measured speed allows in the time left
pids=
for v in $variants; do
  sps=$(grep -o '[0-9.]* s/step' "$tmp/time-$v/time.log" | tail -1 | cut -d' ' -f1)
  n=$(awk -v l=$left -v s="${sps:-1}" 'BEGIN { n = int (0.85 * l / s / 100) * 100; print (n < 200 ? 200 : n) }')
  [ "${LOCAL:-0}" = 1 ] && n=3
  echo "$v: ${sps:-?} s a step -> $n steps"
  w=$tmp/run-$v
  sed -i "s/^unet_steps=.*/unet_steps=$n/" "$w/w/recipe.ini"
  (cd "$w" && timeout $((left + 30)) "$bin/gv-train-model" --template "$repo/models/tiny-sd21-unclip" \
    --out out --work w --recipe recipe.ini --steps unet=$n --checkpoint-minutes 60 > train.log 2>&1
    echo "$v train rc $?" >> train.log) &
  pids="$pids $!"
done
wait $pids
echo "[$(elapsed) s] trained"
for v in $variants; do tail -n 3 "$tmp/run-$v/train.log"; done

# 5. figures (docs/benchmark.md): the clips, and the image-only probe (clips 0-1 with the
# target prompt set to the source prompt: the branches differ only in the image)
"$bin/gv-make-clips" -n $clips -s 0 -o "$tmp/clips" > /dev/null
mkdir -p "$tmp/probe"
for c in $(ls "$tmp/clips" | head -n 2); do
  cp -r "$tmp/clips/$c" "$tmp/probe/"
  sp=$(grep -o '"source_prompt" *: *"[^"]*"' "$tmp/probe/$c/clip.json" | sed 's/.*: *//')
  sed -i "s|\"target_prompt\" *: *\"[^\"]*\"|\"target_prompt\" : $sp|" "$tmp/probe/$c/clip.json"
done
evaluate () {  # evaluate NAME MODEL CLIPS
  timeout $eval_s "$bin/gv-bench-quality" --model "$2" --clips "$3" --steps $eval_steps \
    --tune-steps 0 --guidance 2 --json "$tmp/eval-$1.json" --sheet "$tmp/eval-$1.png" \
    --mask-sweep "$tmp/sweep-$1.json" > "$tmp/eval-$1.log" 2>&1
  echo "eval $1 rc $?" >> "$tmp/eval-$1.log"
}
evaluate third models/genvideo-shapes "$tmp/clips" &
pids=$!
for v in $variants; do
  [ -f "$tmp/run-$v/out/model_index.json" ] || continue
  evaluate $v "$tmp/run-$v/out" "$tmp/clips" &
  pids="$pids $!"
  evaluate $v-image "$tmp/run-$v/out" "$tmp/probe" &
  pids="$pids $!"
done
wait $pids
echo "[$(elapsed) s] evaluated"
for f in "$tmp"/eval-*.log; do echo "== $(basename $f)"; tail -n 4 "$f"; done

# 6. the archives (the device tool brings back a few files of at most 16 MiB)
cd "$tmp"
for v in $variants; do
  tar czf "$out/run-$v.tgz" run-$v/out run-$v/train.log run-$v/w/loss.csv run-$v/recipe.ini \
    $(ls eval-$v.* eval-$v-image.* sweep-$v.* sweep-$v-image.* 2> /dev/null) 2> /dev/null
done
tar czf "$out/rest.tgz" ops $(ls eval-third.* sweep-third.* time-*/time.log 2> /dev/null)
cd "$repo"
rm -rf "$tmp"
ls -l "$out"
echo "[$(elapsed) s] done"

#!/bin/bash
# Shows that the quality-ci test catches a broken method (issue 11, section 5): in a copy of
# the source tree (the working tree as it is, uncommitted changes included), builds the plugin
# and the test, runs the test on the method as it is (it must pass), then applies each patch of
# breaks/ in turn with `git apply`, rebuilds, runs the test again (it must fail) and takes the
# patch back. The breaks:
#   masks-from-one-branch     InvEdit masks from the target branch alone
#   target-image-ignored      the target branch conditioned on the source frame, not the target
#   background-not-preserved  latentcorrect re-generates the background
# Prints each run's figures and a summary; exits 0 only when the method passes and every break
# fails. The model is models/genvideo-shapes of this tree; GENVIDEO_QUALITY_CI_MODEL and
# GENVIDEO_QUALITY_CI_FLOORS (test-quality-ci.c) try it with another model and other floors.
#   tests/quality-ci/check-breaks.sh [BREAK...]     (default: every patch in breaks/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(git -C "$here" rev-parse --show-toplevel)
export GENVIDEO_QUALITY_CI_MODEL=${GENVIDEO_QUALITY_CI_MODEL:-$src/models/genvideo-shapes}
if [ ! -f "$GENVIDEO_QUALITY_CI_MODEL/model_index.json" ]; then
  echo "check-breaks: no model at $GENVIDEO_QUALITY_CI_MODEL (set GENVIDEO_QUALITY_CI_MODEL)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then breaks=("$@"); else
  breaks=(); for p in "$here"/breaks/*.patch; do breaks+=("$(basename "$p" .patch)"); done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
# the working tree's tracked files as they are now (a stash commit of it, or HEAD when clean)
snapshot=$(git -C "$src" stash create)
git -C "$src" archive "${snapshot:-HEAD}" | tar -x -C "$work/src"
meson setup "$work/build" "$work/src" -Dtests=enabled >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log"; exit 1; }
targets=(gst/elements/libgstgenvideo.so tests/quality-ci/test-quality-ci)

# run_test NAME: builds what the test needs, runs it; its status is the test's
run_test () {
  echo "=== $1"
  ninja -C "$work/build" "${targets[@]}" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log"; echo "check-breaks: the build failed ($1)" >&2; exit 1; }
  local status=0
  meson test -C "$work/build" --no-rebuild --suite quality-ci --verbose >"$work/test.log" 2>&1 ||
    status=$?
  grep -E '^(quality-ci:|FAIL|SKIP)' "$work/test.log" || tail -20 "$work/test.log"
  return $status
}

summary=()
if run_test "the method as it is (must pass)"; then
  summary+=("method as it is: passes (as it must)")
else
  echo "check-breaks: the method as it is fails the test: fix that (or the floors) first" >&2
  exit 1
fi
ok=1
for b in "${breaks[@]}"; do
  patch="$here/breaks/$b.patch"
  (cd "$work/src" && git apply "$patch") ||
    { echo "check-breaks: $b.patch does not apply: update it to the code" >&2; exit 1; }
  if run_test "break: $b (must fail)"; then
    summary+=("$b: PASSES the test: the floors do not catch it")
    ok=0
  else
    summary+=("$b: fails the test (as it must)")
  fi
  (cd "$work/src" && git apply -R "$patch")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
[ $ok = 1 ]

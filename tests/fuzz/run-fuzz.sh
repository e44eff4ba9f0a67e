#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) in a build folder of
# their own and runs each for a bounded time on its corpus; exits non-zero on a crash, a leak,
# undefined behaviour or a timeout (the input is kept in the build folder as crash-*, leak-*,
# timeout-*). Called by tests/run-tests.sh.
#   GENVIDEO_FUZZ_BUILD_DIR  build folder (default build-fuzz)
#   GENVIDEO_FUZZ_SECONDS    seconds per target (default 40: 4 targets, under 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${GENVIDEO_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${GENVIDEO_FUZZ_SECONDS:-40}
targets=(safetensors config tokenizer target)

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=enabled -Dtests=disabled -Dbenchmarks=disabled
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}"

# a 1 MiB stack (threads get less than a main thread's 8 MiB) so that unbounded recursion
# shows on inputs of the corpus's size (the deep-nesting seeds, 20000 levels)
ulimit -s 1024
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${targets[@]}"; do
  # new inputs go to a scratch corpus in the build folder; the tree's corpus is only read
  work="$build/tests/fuzz/corpus-$t"
  mkdir -p "$work"
  echo "fuzz-$t: $seconds s"
  "$build/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -max_len=65536 -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/tests/fuzz/$t-" \
    "$work" "tests/fuzz/corpus/$t"
done

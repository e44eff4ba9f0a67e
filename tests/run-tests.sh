#!/bin/bash
# The test suite: installs what it needs, builds with warnings as errors, runs every test,
# then the element tests again under valgrind memcheck, then the fuzz targets for a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/debian-setup.sh

gv_install_packages
gv_configure -Dwerror=true -Dtests=enabled
ninja -C "$GV_BUILD_DIR"
meson test -C "$GV_BUILD_DIR" --print-errorlogs
meson test -C "$GV_BUILD_DIR" --setup valgrind --suite elements --print-errorlogs
# the parsers under libFuzzer with ASan and UBSan, a few minutes (its own build folder)
tests/fuzz/run-fuzz.sh

#!/bin/bash
# bundle.sh BUILD_DIR OUT_DIR: the programs gpu-check.sh runs, with every shared library they
# need but glibc's, the GStreamer plugins of their PNG path and the Vulkan loader, so that they
# run on an x86-64 machine that has a Vulkan driver and nothing of the build (a GPU machine
# lent for a few minutes). Shaders are compiled into the programs; the models come with the
# repo.
set -eu
build=${1:?usage: bundle.sh BUILD_DIR OUT_DIR}
out=${2:?usage: bundle.sh BUILD_DIR OUT_DIR}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/gst" "$out/deb"

cp "$build/tools/train/gv-train-model" "$build/tests/bench/gv-bench-quality" \
  "$build/tools/clips/gv-make-clips" "$out/bin/"
for t in "$build"/tests/nn/test-*; do
  [ -f "$t" ] && [ -x "$t" ] && cp "$t" "$out/bin/"
done
strip "$out"/bin/*

# gv-png.c decodes and encodes through these elements
plugins=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
for p in coreelements app png videoconvertscale; do
  cp "$plugins/libgst$p.so" "$out/gst/"
done

# the libraries, but glibc's (the machine's own is newer) and the Vulkan loader (below)
for f in "$out"/bin/* "$out"/gst/*; do
  ldd "$f" | awk '/=> \//{ print $3 }'
done | sort -u | while read -r lib; do
  case $(basename "$lib") in
    libc.so.* | libm.so.* | ld-linux* | libvulkan.so.*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done

# the loader and the GL dispatch libraries NVIDIA's Vulkan driver loads, as Debian packages
# to unpack there (their paths matter to the driver)
(cd "$out/deb" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 \
  libgles2 > /dev/null)
du -sh "$out"

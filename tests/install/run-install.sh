#!/bin/sh
# The installed plugin on its own: `meson install --destdir` of the build into a scratch folder,
# then, with GST_PLUGIN_PATH into it and no GENVIDEO_MODEL, the elements load the installed
# default model at READY->PAUSED (found relative to the plugin: the prefix itself is empty) and
# run a clip; and a small program builds against the installed headers and pkg-config file
# and runs on the installed library.
#   run-install.sh MESON BUILD-DIR EXAMPLE.c
set -eu
meson=$1
build=$2
example=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

"$meson" install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest/install.log" 2>&1 ||
  { cat "$dest/install.log"; exit 1; }
pc=$(find "$dest" -name gstreamer-genvideo-1.0.pc)
plugin=$(find "$dest" -name libgstgenvideo.so)
tiny=$(find "$dest" -type d -name tiny-sd21-unclip)
for f in "$pc" "$plugin" "$tiny"; do
  [ -n "$f" ] || { echo "not installed: pc '$pc', plugin '$plugin', model '$tiny'"; exit 1; }
done
# the default: the trained model where it was installed (present at configure time), else the
# tiny one
model=$(find "$dest" -type d -name genvideo-shapes)
model=${model:-$tiny}

unset GENVIDEO_MODEL GENVIDEO_MODELS_DIR
export GST_PLUGIN_PATH="$(dirname "$plugin")"
export GST_PLUGIN_SYSTEM_PATH="$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_REGISTRY="$dest/registry.bin"

gst-inspect-1.0 genvideotune >"$dest/inspect.log" 2>&1 || { cat "$dest/inspect.log"; exit 1; }
grep -q "$plugin" "$dest/inspect.log" || { echo "plugin not loaded from $plugin"; exit 1; }
# the model property's description names the default model found
grep -q "here: $model" "$dest/inspect.log" ||
  { grep -A3 "model  " "$dest/inspect.log"; echo "gst-inspect does not name $model"; exit 1; }

# the default model, from the DESTDIR (the debug log names the folder it loads)
GST_DEBUG=genvideo*:5 gst-launch-1.0 videotestsrc num-buffers=2 ! \
  video/x-raw,format=RGB,width=32,height=32 ! genvideotune steps=0 clip-frames=2 ! \
  fakesink >"$dest/launch.log" 2>&1 || { tail -20 "$dest/launch.log"; exit 1; }
grep -q "loading the model of $model" "$dest/launch.log" ||
  { grep "loading the model" "$dest/launch.log"; echo "not the installed model $model"; exit 1; }
echo "default model: $model"

# an application against the installed headers, pkg-config file and library
# (the .pc file names the prefix it was built for: point it into the DESTDIR)
mkdir "$dest/pkgconfig"
sed "s|^prefix=|prefix=$dest|" "$pc" >"$dest/pkgconfig/gstreamer-genvideo-1.0.pc"
export PKG_CONFIG_PATH="$dest/pkgconfig"
${CC:-cc} -o "$dest/device-context" "$example" $(pkg-config --cflags --libs gstreamer-genvideo-1.0)
LD_LIBRARY_PATH="$(dirname "$(find "$dest" -name 'libgstgenvideo-1.0.so')")" "$dest/device-context"

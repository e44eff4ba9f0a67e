# Sourced by tests/main-job.sh and tests/run-tests.sh: installs the Debian 12 packages that
# build, test and run gst-genvideo (as root; otherwise it checks they are there), then
# configures the build folder. GENVIDEO_BUILD_DIR picks the folder (default: build).

GV_PACKAGES=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libjson-glib-dev
  libvulkan-dev glslang-tools mesa-vulkan-drivers vulkan-validationlayers
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-base-apps
  valgrind libopenblas-dev
  python3-gi gir1.2-gstreamer-1.0
  clang libclang-rt-14-dev
)

gv_install_packages () {
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # wait for a concurrent apt instead of failing
    apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "${GV_PACKAGES[@]}"
  else
    local missing
    missing=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' "${GV_PACKAGES[@]}" 2>&1 \
      | grep -v '^installed ' || true)
    if [ -n "$missing" ]; then
      echo "Not root, so not installing; missing packages:" >&2
      echo "$missing" >&2
      return 1
    fi
  fi
}

# gv_configure [meson options...]: sets up the build folder, or reconfigures it.
gv_configure () {
  GV_BUILD_DIR=${GENVIDEO_BUILD_DIR:-build}
  if [ -f "$GV_BUILD_DIR/build.ninja" ]; then
    # without options meson configure prints every option instead
    if [ $# -gt 0 ]; then meson configure "$GV_BUILD_DIR" "$@"; fi
  else
    meson setup "$GV_BUILD_DIR" "$@"
  fi
}

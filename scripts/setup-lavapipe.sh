#!/usr/bin/env bash
# Mesa lavapipe (Vulkan on the CPU) for the WebGPU tests, with no GPU: Debian 12's own mesa-vulkan-drivers 22.3 is
# refused by Dawn ("Vulkan shaderUniform*ArrayDynamicIndexing required"), bookworm-backports' 25.x works. The backports
# .debs are unpacked into .lavapipe/ (ignored by git) instead of installed, so the machine's own Mesa stays as it is.
# Needs root and apt (Debian 12). Prints the two variables to export, e.g.:  eval "$(bash scripts/setup-lavapipe.sh)"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.lavapipe"
icd="$dest/lvp_icd.json"
log() { echo "setup-lavapipe: $*" >&2; }

if [ ! -f "$icd" ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Runtime libraries of the backports lavapipe (libllvm15, xcb, wayland, ...) and the Vulkan loader: Debian's own
  # mesa-vulkan-drivers pulls them all in; its old ICD is never used (VK_ICD_FILENAMES names only ours).
  if ! dpkg -s mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1; then
    log "installing mesa-vulkan-drivers and libvulkan1 (runtime libraries)"
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1 >&2
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/debs"
  echo "deb http://deb.debian.org/debian bookworm-backports main" >"$work/sources.list"
  apt_opts=(-oDir::Etc::SourceList="$work/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$work/lists"
    -oAPT::Sandbox::User=root)
  log "fetching mesa-vulkan-drivers, libdrm2, libdrm-amdgpu1 from bookworm-backports"
  apt-get "${apt_opts[@]}" update -qq >&2
  (cd "$work/debs" && apt-get "${apt_opts[@]}" download mesa-vulkan-drivers libdrm2 libdrm-amdgpu1 >&2)
  rm -rf "$dest" && mkdir -p "$dest"
  for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$dest/root"; done
  lib="$dest/root/usr/lib/x86_64-linux-gnu"
  [ -f "$lib/libvulkan_lvp.so" ] || { log "libvulkan_lvp.so missing after unpacking"; exit 1; }
  printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.4.0" } }\n' \
    "$lib/libvulkan_lvp.so" >"$icd.tmp"
  mv "$icd.tmp" "$icd"
  log "lavapipe ready in $dest"
fi
lib="$dest/root/usr/lib/x86_64-linux-gnu"
echo "export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd LD_LIBRARY_PATH=$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"

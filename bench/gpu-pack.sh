#!/usr/bin/env bash
# Builds the GPU device pack (default .gpu/, git-ignored) for `bench/gpu.sh --pack-dir .gpu` on a GPU machine that has
# no internet and maybe no node and no npm: everything the WebGPU route needs, nothing installed there.
#   bench.mjs, run.mjs     esbuild bundle of bench/src/gpu/main.ts (product nets + tfjs + tfjs-backend-webgpu + the
#                          webgpu package's JS), and its launcher (the bundle must not be argv[1]: see run.mjs)
#   dawn.node.xz           npm webgpu@0.6.2's prebuilt Dawn for linux-x64 (needs libstdc++; dlopens libvulkan.so.1)
#   deb/*.deb              the Vulkan loader (+ glvnd/X11 client libraries): only libraries the machine lacks are used
#   node.xz                this machine's node 20 binary, used only where `node` is absent
#   peers/torch_bench.py   the PyTorch peer's nets (shared/peers), imported by bench/torch_gpu.py
#   MANIFEST               versions and sha256 of the above
# Usage: bench/gpu-pack.sh [PACK_DIR]      (PACK_NODE=0 leaves node out; an up-to-date node.xz is reused)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PACK=${1:-.gpu}
LIMIT_MIB=${PACK_LIMIT_MIB:-55}
log() { echo "gpu-pack: $*" >&2; }
die() { log "$*"; exit 1; }

[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || die "node_modules/webgpu missing: npm ci (optional dependencies included)"
[ -d node_modules/@tensorflow/tfjs-backend-webgpu ] || die "node_modules/@tensorflow/tfjs-backend-webgpu missing: npm ci"
PEER=${TORCH_BENCH:-$ROOT/../shared/peers/torch_bench.py}
[ -f "$PEER" ] || die "$PEER not found (set TORCH_BENCH to the peer's torch_bench.py)"

mkdir -p "$PACK/deb" "$PACK/peers"
rm -f "$PACK/bench.mjs" "$PACK/run.mjs" "$PACK/dawn.node.xz" "$PACK/MANIFEST" "$PACK"/deb/*.deb

log "bundling bench/src/gpu/main.ts with esbuild"
node --input-type=module -e "
import { build } from 'esbuild';
await build({
  entryPoints: ['bench/src/gpu/main.ts'],
  bundle: true, platform: 'node', format: 'esm', target: 'node20', minify: true, legalComments: 'none',
  outfile: '$PACK/bench.mjs',
  // CommonJS modules inside an ESM bundle call require() for node built-ins: give them a real one.
  banner: { js: \"import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);\" },
  // tfjs-node(-gpu) and the cpu native addon are looked up at run time by variable names and are not in the pack.
  // Side-effect-only imports (the tfjs backends register themselves) must survive tree shaking.
  ignoreAnnotations: true,
  logLevel: 'warning',
});
"
# The bundle holds volume-infer.ts, whose 'run me when I am argv[1]' check would fire if the bundle were the script.
cat >"$PACK/run.mjs" <<'EOF'
// Launcher for bench.mjs (bench/gpu-pack.sh): node run.mjs [bench/src/gpu/main.ts options]
const { runGpuBench } = await import("./bench.mjs");
runGpuBench(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`gpu bench failed: ${e?.message ?? e}\n`);
    process.exit(1);
  },
);
EOF

log "dawn.node (xz)"
xz -T1 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$PACK/dawn.node.xz"

# The Vulkan loader, and what NVIDIA's Vulkan driver (libGLX_nvidia.so.0) links against when the image lacks it
# (glvnd's dispatch library, X11 client libraries): the set the device notes report working, without recursion.
DEBS="libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0"
log "Vulkan loader and glvnd/X11 client .debs: $DEBS"
# shellcheck disable=SC2086
if ! (cd "$PACK/deb" && apt-get download $DEBS >/dev/null 2>&1); then
  cached=$(ls /var/cache/apt/archives/libvulkan1_*_amd64.deb /tmp/vk/libvulkan1_*_amd64.deb 2>/dev/null | head -1 || true)
  [ -n "$cached" ] || die "apt-get download $DEBS failed and no cached libvulkan1 .deb: run apt-get update first"
  log "apt-get download failed: packing only the cached $cached"
  cp "$cached" "$PACK/deb/"
fi

cp "$PEER" "$PACK/peers/torch_bench.py"

if [ "${PACK_NODE:-1}" = 1 ]; then
  NODE_BIN=$(readlink -f "$(command -v node)")
  want="$(node -v) $(sha256sum "$NODE_BIN" | cut -c1-16)"
  if [ -f "$PACK/node.xz" ] && [ "$(cat "$PACK/node.version" 2>/dev/null)" = "$want" ]; then
    log "node.xz is up to date ($want)"
  else
    log "node $(node -v) (xz -9, about a minute)"
    xz -T1 -9 -c "$NODE_BIN" >"$PACK/node.xz.tmp" && mv "$PACK/node.xz.tmp" "$PACK/node.xz"
    echo "$want" >"$PACK/node.version"
  fi
else
  rm -f "$PACK/node.xz" "$PACK/node.version"
fi

{
  echo "synthmri GPU pack, built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "webgpu $(node -p "require('./node_modules/webgpu/package.json').version")," \
    "tfjs-backend-webgpu $(node -p "require('./node_modules/@tensorflow/tfjs-backend-webgpu/package.json').version")," \
    "node $(node -v)"
  (cd "$PACK" && find . -type f ! -name MANIFEST | sort | xargs sha256sum)
} >"$PACK/MANIFEST"

size=$(du -sm "$PACK" | cut -f1)
du -sh "$PACK"/* "$PACK"/deb/* >&2
[ "$size" -le "$LIMIT_MIB" ] || die "pack is ${size} MiB, over ${LIMIT_MIB} MiB (PACK_NODE=0 drops node.xz)"
log "pack $PACK: ${size} MiB"

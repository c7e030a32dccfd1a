#!/usr/bin/env bash
# GPU benchmarks: bench-unet, bench-gan (npm run bench) and the 240x240x155 volume inference on the tfjs
# `tensorflow` backend of @tensorflow/tfjs-node-gpu, on a machine with an NVIDIA GPU and no internet.
#
# @tensorflow/tfjs-node-gpu (optionalDependency) downloads libtensorflow at install, which fails offline, so npm drops
# it. This script installs it from what the repo carries instead:
#   deploy/vendor/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz   (libtensorflow 2.9.1 GPU build, CUDA 11.2 / cuDNN 8.1;
#       override with LIBTENSORFLOW_TARBALL). It is served from a loopback HTTP server laid out like Google's bucket
#       and handed to tfjs-node's install script through TFJS_NODE_CDN_STORAGE (the documented mirror variable; a
#       hospital mirror URL works the same: export TFJS_NODE_CDN_STORAGE=https://mirror.example/ and skip the tarball).
#   deploy/vendor/tensorflow-tfjs-node-gpu-4.22.0.tgz (npm pack of the package; override with TFJS_NODE_GPU_TGZ).
#       Without it the package comes from the npm cache or registry.
# The N-API binding is then compiled from source by node-pre-gyp --fallback-to-build (g++, Node headers).
# Output: the same JSON lines as `npm run bench -- --json`, backend "tensorflow".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIBTF_VERSION=2.9.1
LIBTF_NAME="libtensorflow-gpu-linux-x86_64-${LIBTF_VERSION}.tar.gz"
LIBTENSORFLOW_TARBALL=${LIBTENSORFLOW_TARBALL:-$ROOT/deploy/vendor/$LIBTF_NAME}
TFJS_NODE_GPU_TGZ=${TFJS_NODE_GPU_TGZ:-$ROOT/deploy/vendor/tensorflow-tfjs-node-gpu-4.22.0.tgz}
THREADS=${THREADS:-1}

log() { echo "gpu.sh: $*" >&2; }
die() { log "$*"; exit 1; }

command -v nvidia-smi >/dev/null || die "nvidia-smi not found: this script needs an NVIDIA GPU with its driver"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2
[ -d node_modules ] || die "run npm ci first (node_modules missing)"

gpu_backend_loads() {
  node -e "require('@tensorflow/tfjs-node-gpu'); const tf=require('@tensorflow/tfjs'); tf.setBackend('tensorflow').then(ok=>process.exit(ok?0:1))" >/dev/null 2>&1
}

if ! gpu_backend_loads; then
  if [ ! -d node_modules/@tensorflow/tfjs-node-gpu ]; then
    if [ -f "$TFJS_NODE_GPU_TGZ" ]; then
      log "installing @tensorflow/tfjs-node-gpu from $TFJS_NODE_GPU_TGZ (scripts off; libtensorflow comes next)"
      npm install --no-save --ignore-scripts --offline "$TFJS_NODE_GPU_TGZ" >&2
    else
      log "installing @tensorflow/tfjs-node-gpu@4.22.0 from the npm cache/registry (scripts off)"
      npm install --no-save --ignore-scripts --prefer-offline @tensorflow/tfjs-node-gpu@4.22.0 >&2
    fi
  fi
  SERVER_PID=
  if [ -z "${TFJS_NODE_CDN_STORAGE:-}" ]; then
    [ -f "$LIBTENSORFLOW_TARBALL" ] || die "no $LIBTENSORFLOW_TARBALL and no TFJS_NODE_CDN_STORAGE mirror: vendor libtensorflow ${LIBTF_VERSION} (GPU) there"
    MIRROR=$(mktemp -d)
    mkdir -p "$MIRROR/tensorflow/libtensorflow"
    ln -s "$(readlink -f "$LIBTENSORFLOW_TARBALL")" "$MIRROR/tensorflow/libtensorflow/$LIBTF_NAME"
    PORT=${MIRROR_PORT:-18765}
    (cd "$MIRROR" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
    SERVER_PID=$!
    trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do curl -fsI "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
    export TFJS_NODE_CDN_STORAGE="http://127.0.0.1:$PORT/"
  fi
  log "running tfjs-node-gpu's install script with TFJS_NODE_CDN_STORAGE=$TFJS_NODE_CDN_STORAGE"
  (cd node_modules/@tensorflow/tfjs-node-gpu && PATH="$ROOT/node_modules/.bin:$PWD/node_modules/.bin:$PATH" node scripts/install.js gpu download) >&2
  gpu_backend_loads || die "@tensorflow/tfjs-node-gpu installed but the tensorflow backend does not start (CUDA 11.2 / cuDNN 8.1 libraries on LD_LIBRARY_PATH?)"
fi
log "tensorflow (GPU) backend loads"

# bench-unet, bench-gan (and the streaming figure) through the product's bench runner on the GPU backend.
TF_BACKEND=tensorflow npm run --silent bench -- --json --threads "$THREADS"
# The volume inference on the GPU backend (the PyTorch peer stays on CPU: the ratio is GPU product vs CPU torch).
VOLUME_BACKEND=tensorflow npx tsx bench/src/volume-infer.ts "$THREADS"

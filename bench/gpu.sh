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
#
# Second route, WebGPU (`bench/gpu.sh --pack-dir .gpu`): tfjs-backend-webgpu on Dawn (npm webgpu), which needs only a
# Vulkan driver (NVIDIA's comes with the driver): no CUDA/cuDNN version coupling, everything from the npm registry.
# bench/gpu-pack.sh builds the pack on a machine with the repo installed; this mode then runs with no npm at all
# (node from the pack when the machine has none; the Vulkan loader from the pack's .deb when missing). It runs
# bench/torch_gpu.py first (PyTorch on CUDA, and on the CPU with TORCH_CPU_THREADS threads unless TORCH_CPU=0), then
# the product on webgpu, and prints JSON lines with ratio = product GPU / PyTorch GPU; also to $OUT/gpu.jsonl when
# OUT is set. GPU_BENCH_ARGS passes options to the runner (bench/src/gpu/main.ts), TORCH_GPU_ARGS to torch_gpu.py.
# Last, the product's own training loops (bench/src/gpu/product.ts: demo U-Net, demo PGAN, seed-000 U-Net; images/s on
# webgpu and on the cpu backend) to $OUT/product.jsonl; GPU_PRODUCT_ARGS passes options, PRODUCT_LEVEL=0 skips it.
# Phase limits (s): TORCH_TIMEOUT 75, TORCH_CPU_TIMEOUT 20, PRODUCT_TIMEOUT 100, PRODUCT_LEVEL_TIMEOUT 80: < 5 min.
# Issue 15: the product rows also carry dispatches / dispatches_stock / buffers_created / readback_bytes / submits per
# step (device counters), and two real-size benches run on both sides: seed000-unet-train (seed-000 U-Net 256x256
# batch 8) and pgan256-train (5-channel PGAN at 256x256, paper feature maps, batch 16, WGAN-GP; bench/torch_real.py).
# The PyTorch CPU run skips those two (minutes on a CPU).
set -euo pipefail

# The WebGPU route from a pack: no npm, nothing installed outside a temporary folder.
run_pack() {
  local PACK=$1 REPO WORK NODE PY peers t0
  REPO=$(cd "$(dirname "$0")/.." && pwd)
  WORK=$(mktemp -d /tmp/synthmri-gpu.XXXXXX)
  t0=$(date +%s)
  plog() { echo "gpu.sh[pack] +$(($(date +%s) - t0))s: $*" >&2; }
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
  else
    plog "nvidia-smi not found: no NVIDIA driver visible (the run goes on with whatever Vulkan driver is registered)"
  fi

  # node 20+: the machine's, else the pack's (xz of the node binary the pack was built with)
  NODE=$(command -v node || true)
  if [ -z "$NODE" ] || [ "$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
    [ -f "$PACK/node.xz" ] || { plog "no node 20 here and no $PACK/node.xz"; return 1; }
    xz -dc "$PACK/node.xz" >"$WORK/node" && chmod +x "$WORK/node"
    NODE=$WORK/node
    plog "using the pack's node $("$NODE" -v)"
  fi

  # the bundle, with dawn.node where the webgpu package looks for it (dist/<platform>-<arch>/ beside the bundle)
  cp "$PACK/bench.mjs" "$PACK/run.mjs" "$WORK/"
  mkdir -p "$WORK/dist/linux-x64"
  xz -dc "$PACK/dawn.node.xz" >"$WORK/dist/linux-x64/dawn.node"

  # Vulkan loader (and glvnd/X11 client libraries NVIDIA's driver links against): for every library in the pack's
  # .debs that the system lacks, a link in $WORK/vklib on LD_LIBRARY_PATH. Nothing the system has is shadowed, and
  # nothing is unpacked into /.
  local deb lib name missing=""
  mkdir -p "$WORK/vk" "$WORK/vklib"
  for deb in "$PACK"/deb/*.deb; do
    if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$deb" "$WORK/vk"
    else (mkdir -p "$WORK/ar" && cd "$WORK/ar" && rm -f data.tar.* && ar x "$deb" && tar xf data.tar.* -C "$WORK/vk"); fi
  done
  for lib in $(find "$WORK/vk" -name 'lib*.so.[0-9]*' | grep -E '\.so\.[0-9]+$'); do
    name=$(basename "$lib")
    ldconfig -p 2>/dev/null | grep -qF "$name (" && continue
    ln -sf "$lib" "$WORK/vklib/$name"
    missing="$missing $name"
  done
  if [ -n "$missing" ]; then
    export LD_LIBRARY_PATH="$WORK/vklib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    plog "from the pack's .debs (missing here):$missing"
  fi

  # Vulkan driver: NVIDIA's ICD manifest unless one is named already (VK_ICD_FILENAMES / VK_DRIVER_FILES)
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
    local icd
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
      /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/*.json /usr/share/vulkan/icd.d/nvidia*.json \
      /usr/local/nvidia/*/vulkan/icd.d/*.json /usr/lib/x86_64-linux-gnu/nvidia/*/nvidia_icd.json; do
      [ -f "$icd" ] && { export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd; break; }
    done
    [ -n "${VK_ICD_FILENAMES:-}" ] && plog "Vulkan driver manifest $VK_ICD_FILENAMES" ||
      plog "no NVIDIA Vulkan ICD manifest found; the loader's default search decides"
  fi

  [ -n "${OUT:-}" ] && mkdir -p "$OUT" # the copies below would fail (set -e) on a folder not made yet
  # PyTorch on the same machine: CUDA, then the CPU (cheap at 16 threads; TORCH_CPU=0 skips it)
  PY=${PYTHON:-python3}
  peers=$WORK/torch.jsonl
  : >"$peers"
  if "$PY" -c 'import torch' 2>/dev/null; then
    plog "PyTorch on cuda"
    PYTHONUNBUFFERED=1 timeout "${TORCH_TIMEOUT:-75}" "$PY" "$REPO/bench/torch_gpu.py" --peer-dir "$PACK/peers" \
      --volume-script "$REPO/bench/torch_volume_infer.py" --device cuda ${TORCH_GPU_ARGS:-} >>"$peers" ||
      plog "torch cuda run failed or timed out (rc $?)"
    if [ "${TORCH_CPU:-1}" = 1 ]; then
      plog "PyTorch on cpu, ${TORCH_CPU_THREADS:-$(nproc)} threads"
      PYTHONUNBUFFERED=1 timeout "${TORCH_CPU_TIMEOUT:-20}" "$PY" "$REPO/bench/torch_gpu.py" --peer-dir "$PACK/peers" \
        --volume-script "$REPO/bench/torch_volume_infer.py" --device cpu --threads "${TORCH_CPU_THREADS:-$(nproc)}" \
        --steps 5 --warmup 2 --volume-repeats 1 --only unet-train,unet-infer,gan-train,volume-infer ${TORCH_GPU_ARGS:-} >>"$peers" || plog "torch cpu run failed or timed out (rc $?)"
    fi
  else
    plog "$PY has no torch: product figures only"
  fi
  [ -n "${OUT:-}" ] && cp "$peers" "$OUT/torch.jsonl"

  plog "product on webgpu"
  local out=$WORK/gpu.jsonl rc=0
  (cd "$WORK" && TF_BACKEND=webgpu SYNTHMRI_NATIVE=0 timeout "${PRODUCT_TIMEOUT:-100}" "$NODE" run.mjs \
    --peer-file "$peers" --out "$out" ${GPU_BENCH_ARGS:-}) || rc=$?
  [ "$rc" = 0 ] || plog "product run failed or timed out (rc $rc): the lines above are what finished"
  [ -n "${OUT:-}" ] && [ -f "$out" ] && cp "$out" "$OUT/gpu.jsonl"

  # The product's own loops (trainSegmenter, trainGan) on webgpu and on the cpu backend: images/s per phase, each
  # phase within its own budget and all within --deadline-s (bench/src/gpu/product.ts); PRODUCT_LEVEL=0 skips.
  if [ "${PRODUCT_LEVEL:-1}" = 1 ]; then
    plog "product training loops (trainSegmenter, trainGan)"
    local pout=$WORK/product.jsonl prc=0
    (cd "$WORK" && TF_BACKEND=webgpu SYNTHMRI_NATIVE=0 timeout "${PRODUCT_LEVEL_TIMEOUT:-80}" "$NODE" run.mjs product \
      --out "$pout" --deadline-s "${PRODUCT_LEVEL_DEADLINE:-70}" ${GPU_PRODUCT_ARGS:-}) || prc=$?
    [ "$prc" = 0 ] || plog "product training loops failed or timed out (rc $prc): the lines above are what finished"
    [ -n "${OUT:-}" ] && [ -f "$pout" ] && cp "$pout" "$OUT/product.jsonl"
    [ "$rc" = 0 ] && rc=$prc
  fi
  plog "done"
  rm -rf "$WORK"
  return "$rc"
}

if [ "${1:-}" = "--pack-dir" ]; then
  PACK_DIR=$(readlink -f "${2:?--pack-dir needs a folder built by bench/gpu-pack.sh}")
  [ -f "$PACK_DIR/bench.mjs" ] || { echo "gpu.sh: $PACK_DIR/bench.mjs missing: build it with bench/gpu-pack.sh" >&2; exit 1; }
  run_pack "$PACK_DIR"
  exit $?
fi
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

// Volume inference bench: bench-unet's inference path (../shared/peers/SPEC.md; only out_0) over one 240x240x155
// 4-channel volume, its 155 axial slices batched in chunks (240 = 16 * 15, so the 4 stride-2 levels need no padding).
// The product side runs on tfjs cpu + the native kernels (packages/ml/native); the peer is the same net in PyTorch
// (bench/torch_volume_infer.py, Debian python3-torch), run back to back with the same thread count.
// Env: VOLUME_SLICES (default 155), VOLUME_CHUNK (default 16) shrink the run for quick checks.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import {
  bufferPoolStats,
  instanceNormLeakyRelu,
  registerNativeKernels,
  setNativeThreads,
} from "../../packages/ml/src/native/index.js";
import type { BenchResult } from "./types.js";

const PYTHON = "/usr/bin/python3";
const PEER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "torch_volume_infer.py");
const CHANNELS = [16, 32, 64, 128, 256];

interface ConvParams {
  w: tf.Tensor4D;
  b: tf.Tensor1D;
}
interface BlockParams extends ConvParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
}
export interface Net {
  enc: BlockParams[][];
  up: ConvParams[];
  dec: BlockParams[][];
  head: ConvParams;
}

// Deterministic He-style weights; values do not affect timing but must stay finite through 10 norm layers.
function weights(shape: number[], fanIn: number, seed: number): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const scale = Math.sqrt(6 / fanIn);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return tf.tensor(v, shape);
}

export function buildNet(): Net {
  let seed = 1;
  const conv = (k: number, cin: number, cout: number): ConvParams => ({
    w: weights([k, k, cin, cout], k * k * cin, seed++) as tf.Tensor4D,
    b: tf.zeros([cout]),
  });
  const block = (cin: number, cout: number): BlockParams => ({
    ...conv(3, cin, cout),
    gamma: tf.ones([cout]),
    beta: tf.zeros([cout]),
  });
  const stage = (cin: number, cout: number) => [block(cin, cout), block(cout, cout)];
  return {
    enc: CHANNELS.map((c, i) => stage(i === 0 ? 4 : CHANNELS[i - 1], c)),
    // conv2dTranspose filter: [2, 2, outChannels, inChannels]
    up: [0, 1, 2, 3].map((i) => ({
      w: weights([2, 2, CHANNELS[i], CHANNELS[i + 1]], 4 * CHANNELS[i + 1], seed++) as tf.Tensor4D,
      b: tf.zeros([CHANNELS[i]]),
    })),
    dec: [0, 1, 2, 3].map((i) => stage(2 * CHANNELS[i], CHANNELS[i])),
    head: conv(1, 16, 4),
  };
}

function convBlock(x: tf.Tensor4D, p: BlockParams, stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    // conv bias is fused into the conv kernel; the norm + LeakyReLU(0.01) is one native pass on cpu.
    const y = tf.fused.conv2d({ x, filter: p.w, strides: stride, pad: "same", bias: p.b });
    return instanceNormLeakyRelu(y, p.gamma, p.beta, { eps: 1e-5, alpha: 0.01 });
  });
}

/**
 * One chunk's forward pass, freeing every intermediate as soon as its consumer has run (as PyTorch does when the last
 * reference goes): the live set is the skips plus one block. One tidy over the whole net kept every intermediate of a
 * 16-slice chunk alive (~1 GiB) until the end; the buffer pool (512 MiB cap) could then keep only part of them, and the
 * next chunk paid ~460 MiB of fresh pages (first-touch page faults on the calling thread). The caller disposes x.
 */
export function forward(net: Net, x: tf.Tensor4D): tf.Tensor4D {
  const skips: tf.Tensor4D[] = [];
  // a -> f(a), disposing a unless it is x or a skip (those are disposed by their owners).
  const then = (a: tf.Tensor4D, f: (t: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D => {
    const out = f(a);
    if (a !== x && !skips.includes(a)) a.dispose();
    return out;
  };
  try {
    let h = x;
    net.enc.forEach((stage, i) => {
      h = then(
        then(h, (t) => convBlock(t, stage[0], i === 0 ? 1 : 2)),
        (t) => convBlock(t, stage[1], 1),
      );
      skips.push(h);
    });
    for (let i = 3; i >= 0; i--) {
      const skip = skips[i];
      const cat = then(h, (t) =>
        tf.tidy(() => {
          const [n, height, width] = skip.shape;
          const up = tf.add(
            tf.conv2dTranspose(t, net.up[i].w, [n, height, width, CHANNELS[i]], 2, "valid"),
            net.up[i].b,
          );
          return tf.concat([up as tf.Tensor4D, skip], 3);
        }),
      );
      h = then(
        then(cat, (t) => convBlock(t, net.dec[i][0], 1)),
        (t) => convBlock(t, net.dec[i][1], 1),
      );
    }
    return then(h, (t) => tf.tidy(() => tf.add(tf.conv2d(t, net.head.w, 1, "same"), net.head.b) as tf.Tensor4D));
  } finally {
    tf.dispose(skips);
  }
}

/** Runs the volume through the net chunk by chunk; returns wall ms. Reads one element per chunk, like the peer. */
function inferVolume(net: Net, volume: tf.Tensor4D, chunk: number): number {
  const t0 = performance.now();
  for (let s = 0; s < volume.shape[0]; s += chunk) {
    const size = Math.min(chunk, volume.shape[0] - s);
    const input = tf.slice(volume, [s, 0, 0, 0], [size, -1, -1, -1]) as tf.Tensor4D;
    const out = forward(net, input);
    input.dispose();
    out.dataSync();
    out.dispose();
  }
  return performance.now() - t0;
}

function runPeer(threads: number, slices: number, size: number, chunk: number): { ms?: number; note?: string } {
  if (!existsSync(PYTHON)) return { note: "peer skipped: /usr/bin/python3 not found" };
  const r = spawnSync(
    PYTHON,
    [
      PEER_SCRIPT,
      "--threads",
      String(threads),
      "--slices",
      String(slices),
      "--size",
      String(size),
      "--chunk",
      String(chunk),
    ],
    { encoding: "utf8", timeout: 900_000 },
  );
  if (r.status !== 0) {
    const why = (r.stderr ?? "").includes("No module named 'torch'")
      ? "python3-torch not installed"
      : (r.stderr ?? "").trim().split("\n").pop();
    return { note: `peer skipped: ${why}` };
  }
  const line = r.stdout.trim().split("\n").pop() ?? "{}";
  return { ms: (JSON.parse(line) as { ms: number }).ms };
}

// VOLUME_BACKEND=tensorflow (bench/gpu.sh) runs on @tensorflow/tfjs-node-gpu; the default is cpu + native kernels.
async function selectBackend(): Promise<string> {
  const wanted = process.env.VOLUME_BACKEND ?? "cpu";
  if (wanted === "tensorflow") {
    const pkg = "@tensorflow/tfjs-node-gpu"; // optional dependency: a variable keeps tsc from requiring it
    await import(pkg);
  }
  if (!(await tf.setBackend(wanted)))
    throw new Error(`volume-infer: backend "${wanted}" did not initialise (VOLUME_BACKEND)`);
  return wanted;
}

const round = (v: number) => Math.round(v * 100) / 100;

/** One figure per thread count: product ms, PyTorch ms, ratio (product / peer, lower is better). */
export async function benchVolumeInfer(
  options: { threads?: number[]; slices?: number; size?: number; chunk?: number; log?: (line: string) => void } = {},
): Promise<BenchResult[]> {
  const threadsList = options.threads ?? [1, 2];
  const slices = options.slices ?? Number(process.env.VOLUME_SLICES ?? 155);
  const size = options.size ?? 240;
  const chunk = options.chunk ?? Number(process.env.VOLUME_CHUNK ?? 16);
  if (size % 16 !== 0)
    throw new RangeError(`volume-infer: slice size ${size} must be a multiple of 16 (4 stride-2 levels)`);
  const backendName = await selectBackend();
  const native = backendName === "cpu" && registerNativeKernels();
  const net = buildNet();
  const volume = tf.tidy(() => tf.mul(weights([slices, size, size, 4], 3, 99), 2)) as tf.Tensor4D;
  const results: BenchResult[] = [];
  try {
    for (const threads of threadsList) {
      if (native) setNativeThreads(threads);
      const warm = tf.slice(volume, [0, 0, 0, 0], [Math.min(chunk, slices), -1, -1, -1]);
      inferVolume(net, warm, chunk);
      warm.dispose();
      const pool0 = bufferPoolStats();
      const productMs = inferVolume(net, volume, chunk);
      const pool1 = bufferPoolStats();
      const freshMiB = Math.round((pool1.freshBytes - pool0.freshBytes) / 2 ** 20);
      const peer = runPeer(threads, slices, size, chunk);
      const result: BenchResult = {
        bench: "volume-infer",
        product_ms: round(productMs),
        threads,
        backend: native ? "cpu+native" : backendName,
        note: `bench-unet inference (out_0), ${slices} slices ${size}x${size}x4 in chunks of ${chunk}${native ? `; ${freshMiB} MiB of kernel outputs not from the buffer pool` : ""}${native || backendName !== "cpu" ? "" : "; native kernels not built: stock cpu kernels, single-threaded"}${peer.note ? `; ${peer.note}` : ""}`,
      };
      if (peer.ms != null) {
        result.peer_ms = peer.ms;
        result.ratio = round(productMs / peer.ms);
      }
      options.log?.(JSON.stringify(result));
      results.push(result);
    }
  } finally {
    tf.dispose([
      volume,
      ...Object.values(net)
        .flat(2)
        .flatMap((p: ConvParams | BlockParams) => Object.values(p)),
    ]);
  }
  return results;
}

// Direct run: `npx tsx bench/src/volume-infer.ts [threads,...]` prints one JSON line per thread count.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const threads = (process.argv[2] ?? "1,2").split(",").map(Number);
  await benchVolumeInfer({ threads, log: (line) => console.log(line) });
}

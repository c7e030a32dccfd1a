// Test fixtures for the GAN tests: a toy 5-channel "brain with tumour" distribution and a plain
// sliced Wasserstein distance in pixel space (the Laplacian-pyramid SWD lives in @synthmri/eval's quality/).
import { arraySliceSource, type SliceSource } from "../src/gan/slice-source.js";
import { tf } from "../src/gan/tf.js";
import { Rng } from "../src/random/index.js";

const lv = (v255: number) => v255 / 127.5 - 1;

/** n slices: a brain disc (4 MR channels, channel-specific brightness) with a tumour blob labelled ED/ET. */
export function blobSlices(n: number, size: number, seed = 1): { data: Float32Array; source: SliceSource } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * size * size * 5);
  const base = [0.2, 0.1, 0.4, 0.3];
  for (let i = 0; i < n; i++) {
    const cx = size / 2 + rng.uniform(-2, 2) * (size / 32);
    const cy = size / 2 + rng.uniform(-2, 2) * (size / 32);
    const r = size * rng.uniform(0.33, 0.42);
    const tx = cx + rng.uniform(-0.3, 0.3) * r;
    const ty = cy + rng.uniform(-0.3, 0.3) * r;
    const tr = r * rng.uniform(0.2, 0.35);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 5;
        const inBrain = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        const dt = Math.sqrt((x - tx) ** 2 + (y - ty) ** 2);
        const label = !inBrain ? 0 : dt < tr * 0.5 ? 204 : dt < tr ? 102 : 0;
        for (let c = 0; c < 4; c++)
          data[o + c] = inBrain ? base[c] + (label === 204 ? 0.5 : label === 102 ? 0.25 : 0) : -1;
        data[o + 4] = lv(label);
      }
    }
  }
  return { data, source: arraySliceSource(data, n, size, 5) };
}

/** Pixel-space sliced Wasserstein-1 distance between two image sets (same count), 64 random directions. */
export function pixelSwd(a: tf.Tensor4D, b: tf.Tensor4D, seed = 9): number {
  const n = a.shape[0];
  const d = a.size / n;
  const rng = new Rng(seed);
  const dirs = tf.tidy(() => {
    const m = tf.tensor2d(rng.fillNormal(new Float32Array(d * 64)), [d, 64]);
    return m.div(m.square().sum(0, true).sqrt());
  });
  const pa = tf.tidy(() => tf.matMul(a.reshape([n, d]), dirs));
  const pb = tf.tidy(() => tf.matMul(b.reshape([b.shape[0], d]), dirs));
  const A = pa.arraySync() as number[][];
  const B = pb.arraySync() as number[][];
  tf.dispose([dirs, pa, pb]);
  let total = 0;
  for (let k = 0; k < 64; k++) {
    const x = A.map((r) => r[k]).sort((p, q) => p - q);
    const y = B.map((r) => r[k]).sort((p, q) => p - q);
    for (let i = 0; i < n; i++) total += Math.abs(x[i] - y[i]);
  }
  return total / (64 * n);
}

// Helpers of the webgpu-vs-cpu comparisons, shared by packages/ml/test/webgpu.test.ts and bench/test/webgpu-nets.test.ts.
import { tf } from "../src/index.js";
import { Rng } from "../src/random/index.js";

export function randn(n: number, seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n));
}

/** Runs f on `backend` with fresh tensors from host arrays; returns every output as host arrays. */
export async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const vals = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return vals;
}

export function maxRelErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

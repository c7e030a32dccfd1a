// Gradients of Mean and Sum without a host-side ones tensor (issue 15: the per-step host upload). tfjs-core's own
// gradients compute dy * ones(x.shape): `ones` is a new host array every step, which the webgpu backend uploads
// (5.9 MB per bench-gan step at batch 2: the backward of avgPool2x2's reshape + mean). On webgpu, with fusion on,
// these broadcast dy on the device instead (Tile: one dispatch), same values (x * 1 is x) and differentiable again (Tile and Div
// have gradients), so second-order use (WGAN-GP) is unchanged. Other backends keep tfjs' gradients.
import { tf } from "../../backend/tf.js";
import { rawWebGpuBackend } from "./raw.js";

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Record<string, () => tf.Tensor>;

/**
 * dy broadcast back over the reduced axes of x: a Tile of at most 4 dimensions (the webgpu Tile reads back and runs on
 * the CPU from rank 5) after merging neighbouring axes that are both kept or both reduced; else dy times a ones
 * tensor filled on the device (one more dispatch, still no upload).
 */
function broadcastBack(dy: tf.Tensor, x: tf.Tensor, attrs: tf.NamedAttrMap): { b: tf.Tensor; reduceSize: number } {
  const axes = new Set(tf.util.parseAxisParam(attrs.axis as number | number[], x.shape));
  const merged: { size: number; reduced: boolean }[] = [];
  let reduceSize = 1;
  x.shape.forEach((size, a) => {
    const reduced = axes.has(a);
    if (reduced) reduceSize *= size;
    const last = merged[merged.length - 1];
    if (last && last.reduced === reduced) last.size *= size;
    else merged.push({ size, reduced });
  });
  if (merged.length > 4) {
    const expanded = x.shape.map((size, a) => (axes.has(a) ? 1 : size));
    return { b: tf.mul(tf.reshape(dy, expanded), tf.fill(x.shape, 1)), reduceSize };
  }
  const small = tf.reshape(
    dy,
    merged.map((m) => (m.reduced ? 1 : m.size)),
  );
  const tiled = tf.tile(
    small,
    merged.map((m) => (m.reduced ? m.size : 1)),
  );
  return { b: tf.reshape(tiled, x.shape), reduceSize };
}

function broadcastGrad(name: string, stock: tf.GradConfig, mean: boolean): tf.GradConfig {
  const stockFunc = stock.gradFunc as unknown as GradFunc;
  return {
    ...stock,
    kernelName: name,
    gradFunc: ((dy: tf.Tensor, saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x] = saved;
      if (!rawWebGpuBackend()) return stockFunc(dy, saved, attrs);
      return {
        x: () => {
          const e = broadcastBack(dy, x, attrs);
          return mean ? tf.div(e.b, e.reduceSize) : e.b;
        },
      };
    }) as unknown as tf.GradConfig["gradFunc"],
  };
}

const MARK = Symbol.for("synthmri.webgpu.reduceGradients");

/** Installs the Mean and Sum gradients above (once per process; they defer to tfjs' own off webgpu). */
export function registerReduceGradients(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[MARK]) return;
  g[MARK] = true;
  for (const [name, mean] of [
    [tf.Mean, true],
    [tf.Sum, false],
  ] as const) {
    const stock = tf.getGradient(name);
    if (!stock) continue;
    tf.unregisterGradient(name);
    tf.registerGradient(broadcastGrad(name, stock, mean));
  }
}

// Adapter from ml's GAN training-loop QualityFn to the Laplacian-pyramid sliced Wasserstein distance of quality/
// (PGAN paper's SWD). Low resolutions shrink the neighbourhood and the pyramid's smallest side to fit.
import { type SwdOptions, slicedWassersteinDistanceAsync } from "./sliced-wasserstein.js";
import type { QualityFn, tf } from "@synthmri/ml";

export function laplacianSwd(options: SwdOptions = {}): QualityFn {
  // Reads are awaited so the metric also runs on asynchronous backends (webgpu); the SWD yields to the event loop
  // as it goes (the training process answers gRPC while it measures).
  return async (fake: tf.Tensor4D, real: tf.Tensor4D) => {
    const [, h, w, c] = fake.shape;
    const side = Math.min(h, w);
    const set = async (t: tf.Tensor4D) => ({ data: (await t.data()) as Float32Array, n: t.shape[0], h, w, c });
    const r = await slicedWassersteinDistanceAsync(await set(fake), await set(real), {
      ...options,
      nhoodSize: Math.min(options.nhoodSize ?? 7, side % 2 === 0 ? side - 1 : side),
      minSide: Math.min(options.minSide ?? 16, side),
    });
    return r.meanAll;
  };
}

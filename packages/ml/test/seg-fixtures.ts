// Test fixtures for the segmenter tests (unet.test.ts, webgpu.test.ts).
import type { SegSample } from "../src/index.js";
import type { Rng } from "../src/random/index.js";

/** 16x16 four-channel slice: a bright disc in every channel (whole tumour) labelled ED around an ET core, random position/radius. */
export function discSample(rng: Rng, size = 16): SegSample {
  const image = new Float32Array(size * size * 4);
  const label = new Uint8Array(size * size);
  const cy = rng.uniform(5, size - 5);
  const cx = rng.uniform(5, size - 5);
  const r = rng.uniform(2.5, 4);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const d = Math.hypot(y - cy, x - cx);
      for (let c = 0; c < 4; c++) image[i * 4 + c] = 1 + 0.1 * rng.normal() + (d < r ? 2 + c * 0.5 : 0);
      if (d < r) label[i] = d < r / 2 ? 3 : 2;
    }
  return { height: size, width: size, channels: 4, image, label };
}

// Conversions between the network's [-1, 1] float images and what leaves the service: uint8 slices like the
// ingest service's (0-255, mask 0/51/102/204) or float32 with the mask as labels of a BraTS scheme.
import { MASK_LEVELS_255 } from "@synthmri/core";
import { InvalidInput } from "@synthmri/platform";
import { fromInternalLabels, type LabelScheme } from "@synthmri/volume";

export type LabelSchemeName = LabelScheme;

/** uint8 NHWC from [-1, 1] floats; the last channel is written from the internal labels (exact mask levels). */
export function toUint8(images: Float32Array, labels: Uint8Array, channels: number): Uint8Array {
  const out = new Uint8Array(images.length);
  if (labels.length * channels !== images.length)
    throw new InvalidInput(`${labels.length} labels do not match ${images.length / channels} pixels`);
  for (let p = 0; p < labels.length; p++) {
    const o = p * channels;
    for (let c = 0; c < channels - 1; c++) {
      const v = Math.round((images[o + c] + 1) * 127.5);
      out[o + c] = Math.min(255, Math.max(0, v));
    }
    out[o + channels - 1] = MASK_LEVELS_255[labels[p]];
  }
  return out;
}

/** float32 NHWC: image channels unchanged ([-1, 1]), the mask channel as the scheme's label values. */
export function toFloatWithLabels(
  images: Float32Array,
  labels: Uint8Array,
  channels: number,
  scheme: LabelSchemeName,
): Float32Array {
  const out = new Float32Array(images);
  const values = fromInternalLabels(labels, scheme);
  for (let p = 0; p < labels.length; p++) out[p * channels + channels - 1] = values[p];
  return out;
}

/** uint8 slices (0-255) -> the network's [-1, 1] floats. */
export function uint8ToUnit(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 127.5 - 1;
  return out;
}

// Patch-based training (nnU-Net): the net trains on random square crops of the slices and segments whole
// slices at inference (it is fully convolutional). A crop costs as much as a smaller slice, but keeps the
// slice's resolution: the small necrotic core that a 2x down-sampled slice blurs away stays learnable.
// Like nnU-Net's foreground oversampling, a sample drawn for foreground is cropped around a random voxel of
// a random tumour class present in it (clamped inside the slice), so a forced sample keeps its tumour.
import { InvalidInput } from "@synthmri/core";
import type { Rng } from "../random/index.js";
import type { SegSample } from "../transforms/types.js";

/** Checks a patch side against the slices' side and the net's size multiple (2^(levels-1)). */
export function checkPatchSize(patch: number, slice: number, multiple: number): void {
  if (!Number.isInteger(patch) || patch < multiple || patch % multiple !== 0)
    throw new InvalidInput(`patchSize ${patch} must be a positive multiple of ${multiple} (the net's size multiple)`);
  if (patch > slice) throw new InvalidInput(`patchSize ${patch} is larger than the ${slice}x${slice} slices`);
}

/** Top-left corner of the crop: uniform, or centred on a random voxel of a random present tumour class. */
function cropOrigin(s: SegSample, patch: number, rng: Rng, foreground: boolean): [number, number] {
  const maxY = s.height - patch;
  const maxX = s.width - patch;
  if (foreground) {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < s.label.length; i++) {
      const c = s.label[i];
      if (c === 0) continue;
      const list = byClass.get(c);
      if (list) list.push(i);
      else byClass.set(c, [i]);
    }
    if (byClass.size) {
      const classes = [...byClass.keys()].sort((a, b) => a - b);
      const voxels = byClass.get(classes[rng.int(classes.length)])!;
      const v = voxels[rng.int(voxels.length)];
      const y = Math.floor(v / s.width);
      const x = v % s.width;
      const half = Math.floor(patch / 2);
      return [Math.min(maxY, Math.max(0, y - half)), Math.min(maxX, Math.max(0, x - half))];
    }
  }
  return [rng.int(maxY + 1), rng.int(maxX + 1)];
}

/**
 * A `patch` x `patch` crop of `s` (image, label and mask). Returns `s` itself when the slice already has the
 * patch's size. Draws from `rng` only when cropping, so runs without patches keep their random streams.
 */
export function cropPatch(s: SegSample, patch: number, rng: Rng, foreground: boolean): SegSample {
  if (s.height === patch && s.width === patch) return s;
  if (s.height < patch || s.width < patch)
    throw new InvalidInput(`patchSize ${patch} is larger than a ${s.height}x${s.width} training slice`);
  const [y0, x0] = cropOrigin(s, patch, rng, foreground);
  const c = s.channels;
  const image = new Float32Array(patch * patch * c);
  const label = new Uint8Array(patch * patch);
  const mask = s.mask ? new Uint8Array(patch * patch) : undefined;
  for (let y = 0; y < patch; y++) {
    const src = (y0 + y) * s.width + x0;
    image.set(s.image.subarray(src * c, (src + patch) * c), y * patch * c);
    label.set(s.label.subarray(src, src + patch), y * patch);
    mask?.set(s.mask!.subarray(src, src + patch), y * patch);
  }
  return { height: patch, width: patch, channels: c, image, label, ...(mask ? { mask } : {}) };
}

// Reorientation to the canonical orientation of this project: LPS (voxel axes increasing towards
// Left, Posterior, Superior). BraTS volumes are stored LPS already, so the common case is a no-op
// (no copy), slices come out in the orientation the seed's figures show, and a volume from another
// source is brought to the same voxel layout before slicing. Only axis permutations and flips are
// applied (no resampling), so the round trip back is exact.
import { InvalidInput } from "@synthmri/core";
import { type AxisOrientation, ioOrientation, type Mat4, matmul } from "./nifti/affine.js";
import type { StoredArray } from "./nifti/datatypes.js";

/** Canonical axis codes. */
export const CANONICAL_AXCODES = ["L", "P", "S"] as const;
/** world axis sign per canonical voxel axis in RAS+ terms: L = -x, P = -y, S = +z */
const CANON_SIGN = [-1, -1, 1];

export interface Reorientation {
  /** perm[i] = source voxel axis that becomes output axis i */
  perm: number[];
  /** flip[i] = output axis i runs opposite to its source axis */
  flip: boolean[];
}

export interface OrientedVolume<T extends StoredArray = StoredArray> {
  shape: number[];
  data: T;
  affine: Mat4;
  /** values per voxel (2 complex, 3 RGB); default 1 */
  parts?: number;
}

/** The permutation/flips that bring a volume with this affine to LPS. */
export function toCanonicalTransform(affine: Mat4): Reorientation {
  const ornt: AxisOrientation[] = ioOrientation(affine);
  const perm = [0, 1, 2];
  const flip = [false, false, false];
  for (let src = 0; src < 3; src++) {
    const o = ornt[src];
    perm[o.axis] = src;
    flip[o.axis] = o.sign !== CANON_SIGN[o.axis];
  }
  if (new Set(perm).size !== 3)
    throw new InvalidInput("affine is degenerate: two voxel axes map to the same world axis");
  return { perm, flip };
}

export function isIdentity(t: Reorientation): boolean {
  return t.perm.every((p, i) => p === i) && t.flip.every((f) => !f);
}

/** Apply a permutation/flip to the first three axes (further axes, e.g. time, are carried along). */
export function applyReorientation<T extends StoredArray>(vol: OrientedVolume<T>, t: Reorientation): OrientedVolume<T> {
  if (isIdentity(t)) return vol;
  const parts = vol.parts ?? 1;
  const inShape = vol.shape;
  const outShape = [inShape[t.perm[0]], inShape[t.perm[1]], inShape[t.perm[2]], ...inShape.slice(3)];
  const inStride = [parts, parts * inShape[0], parts * inShape[0] * (inShape[1] ?? 1)];
  const vol3 = inShape[0] * (inShape[1] ?? 1) * (inShape[2] ?? 1);
  const rest = inShape.slice(3).reduce((a, b) => a * b, 1);
  const ctor = vol.data.constructor as { new (n: number): T };
  const out = new ctor(vol.data.length);
  const [nx, ny, nz] = [outShape[0], outShape[1] ?? 1, outShape[2] ?? 1];
  // Step and start in the input for each output axis.
  const step = [0, 1, 2].map((i) => (t.flip[i] ? -1 : 1) * inStride[t.perm[i]]);
  const start = [0, 1, 2].reduce((s, i) => s + (t.flip[i] ? ((outShape[i] ?? 1) - 1) * inStride[t.perm[i]] : 0), 0);
  let o = 0;
  for (let r = 0; r < rest; r++) {
    const base = r * vol3 * parts + start;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        let p = base + k * step[2] + j * step[1];
        for (let i = 0; i < nx; i++, p += step[0]) {
          for (let c = 0; c < parts; c++) out[o++] = vol.data[p + c];
        }
      }
    }
  }
  // new voxel index v' maps to old index v: v[perm[i]] = flip ? n_i-1-v'_i : v'_i
  const m: number[][] = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  m[3][3] = 1;
  for (let i = 0; i < 3; i++) {
    const n = outShape[i] ?? 1;
    m[t.perm[i]][i] = t.flip[i] ? -1 : 1;
    m[t.perm[i]][3] = t.flip[i] ? n - 1 : 0;
  }
  return { ...vol, shape: outShape, data: out, affine: matmul(vol.affine, m) };
}

/** Inverse transform, so `applyReorientation(applyReorientation(v, t), inverse(t))` is `v`. */
export function inverseReorientation(t: Reorientation): Reorientation {
  const perm = [0, 0, 0];
  const flip = [false, false, false];
  for (let i = 0; i < 3; i++) {
    perm[t.perm[i]] = i;
    flip[t.perm[i]] = t.flip[i];
  }
  return { perm, flip };
}

/** Bring a volume to LPS; returns the transform to undo it with `fromCanonical`. */
export function toCanonical<T extends StoredArray>(
  vol: OrientedVolume<T>,
): { volume: OrientedVolume<T>; transform: Reorientation } {
  const transform = toCanonicalTransform(vol.affine);
  return { volume: applyReorientation(vol, transform), transform };
}

export function fromCanonical<T extends StoredArray>(
  vol: OrientedVolume<T>,
  transform: Reorientation,
): OrientedVolume<T> {
  return applyReorientation(vol, inverseReorientation(transform));
}

// Surface distances and the 95th-percentile Hausdorff distance (HD95) between two binary masks, in mm.
// Follows MONAI's compute_hausdorff_distance(percentile=95): surface voxels are mask voxels with a 6-neighbour
// outside the mask (the volume border counts as outside), distances are measured from each surface voxel of one
// mask to the nearest surface voxel of the other, and HD95 = max(P95(pred->truth), P95(truth->pred)) with
// numpy's linear percentile interpolation.
import { squaredEdt3d } from "./edt.js";
import { percentile } from "../stats/descriptive.js";

export type Shape3 = readonly [number, number, number];

/** Bounding box [z0,z1) x [y0,y1) x [x0,x1) of non-zero voxels of either mask, or null if both are empty. */
export function unionBox(
  a: Uint8Array,
  b: Uint8Array,
  shape: Shape3,
): [number, number, number, number, number, number] | null {
  const [nz, ny, nx] = shape;
  let z0 = nz;
  let z1 = -1;
  let y0 = ny;
  let y1 = -1;
  let x0 = nx;
  let x1 = -1;
  let i = 0;
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        if (a[i] | b[i]) {
          if (z < z0) z0 = z;
          if (z > z1) z1 = z;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
        }
      }
  if (z1 < 0) return null;
  return [z0, z1 + 1, y0, y1 + 1, x0, x1 + 1];
}

/**
 * Surface voxels of a 0/1 mask: foreground with a 6-neighbour in the background. Outside the array counts as
 * background, which is right both at the volume border and at the faces of a crop box that holds all foreground.
 */
export function surfaceVoxels(mask: Uint8Array, shape: Shape3): Uint8Array {
  const [nz, ny, nx] = shape;
  const out = new Uint8Array(mask.length);
  const plane = ny * nx;
  let i = 0;
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        if (!mask[i]) continue;
        const edge =
          (z === 0 ? true : !mask[i - plane]) ||
          (z === nz - 1 ? true : !mask[i + plane]) ||
          (y === 0 ? true : !mask[i - nx]) ||
          (y === ny - 1 ? true : !mask[i + nx]) ||
          (x === 0 ? true : !mask[i - 1]) ||
          (x === nx - 1 ? true : !mask[i + 1]);
        if (edge) out[i] = 1;
      }
  return out;
}

/** Copy of the voxels of `vol` inside `box` ([z0,z1,y0,y1,x0,x1], as from unionBox). */
export function cropVolume(vol: Uint8Array, shape: Shape3, box: readonly number[]): Uint8Array {
  const [, ny, nx] = shape;
  const [z0, z1, y0, y1, x0, x1] = box;
  const cx = x1 - x0;
  const out = new Uint8Array((z1 - z0) * (y1 - y0) * cx);
  let o = 0;
  for (let z = z0; z < z1; z++)
    for (let y = y0; y < y1; y++) {
      const base = (z * ny + y) * nx;
      out.set(vol.subarray(base + x0, base + x1), o);
      o += cx;
    }
  return out;
}

/** Distances (mm) from each surface voxel of `from` to the nearest surface voxel of `to` (both non-empty). */
function directedDistances(fromSurf: Uint8Array, toSurf: Uint8Array, shape: Shape3, spacing: Shape3): Float64Array {
  const d2 = squaredEdt3d(toSurf, shape, spacing);
  let count = 0;
  for (let i = 0; i < fromSurf.length; i++) count += fromSurf[i];
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < fromSurf.length; i++) if (fromSurf[i]) out[k++] = Math.sqrt(d2[i]);
  return out;
}

/**
 * Percentile Hausdorff distance (mm) between two non-empty binary masks ([z][y][x], 0/1).
 * Returns null when either mask is empty: the caller applies the empty-case policy.
 * The work is cropped to the bounding box of both masks: every surface voxel lies inside it, so the
 * distance transform restricted to the box is still exact.
 */
export function hausdorffPercentile(
  pred: Uint8Array,
  truth: Uint8Array,
  shape: Shape3,
  spacing: Shape3,
  q = 95,
): number | null {
  let anyP = 0;
  let anyT = 0;
  for (let i = 0; i < pred.length && !(anyP && anyT); i++) {
    anyP |= pred[i];
    anyT |= truth[i];
  }
  if (!anyP || !anyT) return null;
  const box = unionBox(pred, truth, shape);
  if (!box) return null;
  const cshape: Shape3 = [box[1] - box[0], box[3] - box[2], box[5] - box[4]];
  const p = cropVolume(pred, shape, box);
  const t = cropVolume(truth, shape, box);
  const ps = surfaceVoxels(p, cshape);
  const ts = surfaceVoxels(t, cshape);
  const dpt = directedDistances(ps, ts, cshape, spacing);
  const dtp = directedDistances(ts, ps, cshape, spacing);
  return Math.max(percentile(dpt, q), percentile(dtp, q));
}

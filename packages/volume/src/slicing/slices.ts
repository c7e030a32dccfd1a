import { InvalidInput, MASK_LEVELS_255 } from "@synthmri/core";
import { resolveSliceParams, SEQUENCES, type SequenceName, type SliceParams } from "./params.js";

/** One subject's co-registered volumes (x fastest), seg already in the internal scheme 0..3. */
export interface SubjectVolumes {
  shape: number[];
  t1: ArrayLike<number>;
  t1ce: ArrayLike<number>;
  t2: ArrayLike<number>;
  flair: ArrayLike<number>;
  /** 0 background, 1 NCR, 2 ED, 3 ET */
  seg: ArrayLike<number>;
}

/** A batch of 2D slices as uint8 NHWC, with where each came from. */
export interface SliceBatch {
  height: number;
  width: number;
  channels: number;
  count: number;
  data: Uint8Array;
  /** slice index in the source volume, per slice */
  sliceIndex: number[];
  /** (hashed) subject id, per slice */
  subject: string[];
}

export interface SliceResult {
  batch: SliceBatch;
  /** slices examined / kept */
  total: number;
  kept: number;
  params: SliceParams;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Rescale a volume to 0-255 (min-max, or min to upper percentile), rounding. */
export function rescaleTo255(
  v: ArrayLike<number>,
  mode: SliceParams["rescale"] = "minmax",
  percentile = 99.5,
): Uint8Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (mode === "percentile" && v.length > 0) {
    const sorted = Float64Array.from(v).sort();
    hi = sorted[Math.min(sorted.length - 1, Math.floor((percentile / 100) * (sorted.length - 1)))];
  }
  const out = new Uint8Array(v.length);
  if (!(hi > lo)) return out;
  const k = 255 / (hi - lo);
  for (let i = 0; i < v.length; i++) {
    const y = (v[i] - lo) * k;
    out[i] = y <= 0 ? 0 : y >= 255 ? 255 : Math.round(y);
  }
  return out;
}

/**
 * Seed-000 slicing of one subject: rescale each sequence to 0-255, cut slices along `axis`,
 * keep those passing the intensity test, zero-pad centred to a square, map labels to mask values.
 */
export function sliceSubject(subject: string, vols: SubjectVolumes, partial: Partial<SliceParams> = {}): SliceResult {
  const params = resolveSliceParams(partial);
  const shape = vols.shape;
  if (shape.length !== 3)
    throw new InvalidInput(`subject ${subject}: expected 3D volumes, got shape ${shape.join("x")}`);
  const n = shape[0] * shape[1] * shape[2];
  for (const name of [...SEQUENCES, "seg"] as const) {
    if (vols[name].length !== n) {
      throw new InvalidInput(
        `subject ${subject}: ${name} has ${vols[name].length} voxels, shape ${shape.join("x")} needs ${n}`,
      );
    }
  }
  const [X, Y] = [shape[0], shape[1]];
  const stride = [1, X, X * Y];
  const axis = params.axis;
  const inPlane = [0, 1, 2].filter((a) => a !== axis);
  const cols = shape[inPlane[0]];
  const rows = shape[inPlane[1]];
  const size = params.padTo === "pow2" ? nextPow2(Math.max(rows, cols)) : params.padTo;
  if (size < rows || size < cols) {
    throw new InvalidInput(`subject ${subject}: slices of ${rows}x${cols} do not fit the configured pad size ${size}`);
  }
  const top = Math.floor((size - rows) / 2);
  const left = Math.floor((size - cols) / 2);

  const scaled = SEQUENCES.map((s) => rescaleTo255(vols[s], params.rescale, params.percentile));
  const order = params.channels.slice(0, 4) as SequenceName[];
  const chanVols = order.map((s) => scaled[SEQUENCES.indexOf(s)]);
  const thr =
    params.thresholdChannel === "max" ? null : scaled[SEQUENCES.indexOf(params.thresholdChannel as SequenceName)];
  const lv = params.labelValues;
  const labelMap = [0, lv[0], lv[1], lv[2]];

  const nSlices = shape[axis];
  const C = 5;
  const pixelsPerSlice = rows * cols;
  const keep: number[] = [];
  for (let s = 0; s < nSlices; s++) {
    let above = 0;
    const base = s * stride[axis];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const idx = base + c * stride[inPlane[0]] + r * stride[inPlane[1]];
        const v = thr ? thr[idx] : Math.max(scaled[0][idx], scaled[1][idx], scaled[2][idx], scaled[3][idx]);
        if (v > params.intensityThreshold) above++;
      }
    }
    if (above >= params.minFraction * pixelsPerSlice) keep.push(s);
  }

  const data = new Uint8Array(keep.length * size * size * C);
  keep.forEach((s, k) => {
    const base = s * stride[axis];
    const outBase = k * size * size * C;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const idx = base + c * stride[inPlane[0]] + r * stride[inPlane[1]];
        const o = outBase + ((r + top) * size + (c + left)) * C;
        data[o] = chanVols[0][idx];
        data[o + 1] = chanVols[1][idx];
        data[o + 2] = chanVols[2][idx];
        data[o + 3] = chanVols[3][idx];
        const label = vols.seg[idx];
        const m = labelMap[label];
        if (m === undefined) {
          throw new InvalidInput(
            `subject ${subject}: seg value ${label} at voxel ${idx} is not an internal label (0-3); map the scheme first`,
          );
        }
        data[o + 4] = m;
      }
    }
  });
  return {
    batch: {
      height: size,
      width: size,
      channels: C,
      count: keep.length,
      data,
      sliceIndex: keep,
      subject: keep.map(() => subject),
    },
    total: nSlices,
    kept: keep.length,
    params,
  };
}

/** Concatenate batches of the same geometry. */
export function concatBatches(batches: SliceBatch[]): SliceBatch {
  if (batches.length === 0)
    return { height: 0, width: 0, channels: 5, count: 0, data: new Uint8Array(0), sliceIndex: [], subject: [] };
  const { height, width, channels } = batches[0];
  for (const b of batches) {
    if (b.height !== height || b.width !== width || b.channels !== channels) {
      throw new InvalidInput(
        `cannot concatenate slice batches of ${b.height}x${b.width}x${b.channels} and ${height}x${width}x${channels}`,
      );
    }
  }
  const count = batches.reduce((s, b) => s + b.count, 0);
  const data = new Uint8Array(count * height * width * channels);
  let off = 0;
  for (const b of batches) {
    data.set(b.data, off);
    off += b.data.length;
  }
  return {
    height,
    width,
    channels,
    count,
    data,
    sliceIndex: batches.flatMap((b) => b.sliceIndex),
    subject: batches.flatMap((b) => b.subject),
  };
}

/** Nearest mask value in the label set (the seed thresholds synthetic masks this way). */
export function snapMaskValue(v: number, labelValues: readonly number[] = MASK_LEVELS_255): number {
  let best = labelValues[0];
  for (const l of labelValues) if (Math.abs(v - l) < Math.abs(v - best)) best = l;
  return best;
}

// SegmentVolume's logic: four NIfTI sequences in, a label NIfTI out on the input grid. The volumes go
// through the preprocessing the model's training data went through (recorded with the model): reorient
// to LPS, rescale each volume to 0-255, axial slices zero-padded centred to the dataset's square side,
// box-resized to the net's side, z-scored per slice. Labels come back by nearest upsampling, the crop of
// the padding and the inverse reorientation, so the output has the input's shape and affine exactly.
import { segmentSlices } from "@synthmri/ml";
import { InvalidInput } from "@synthmri/platform";
import {
  fromCanonical,
  type Mat4,
  type NiftiVolume,
  readNifti,
  rescaleTo255,
  resizeBatch,
  SEED000_SLICE_PARAMS,
  toCanonical,
  writeNifti,
} from "@synthmri/volume";
import { type OutputScheme, toScheme } from "./labels.js";
import type { LoadedModel } from "./model-registry.js";

export const SEQUENCE_ROLES = ["t1", "t1ce", "t2", "flair"] as const;
export type SequenceRole = (typeof SEQUENCE_ROLES)[number];

export interface VolumeOptions {
  scheme: OutputScheme;
  tta: boolean;
  /** axial slices per forward pass (default 16) */
  batchSize?: number;
  signal?: AbortSignal;
}

export interface VolumeOutput {
  /** .nii.gz bytes */
  nifti: Uint8Array;
  /** voxels per output label value */
  labelVoxels: Map<number, number>;
  inferenceSeconds: number;
}

const AFFINE_TOLERANCE_MM = 1e-3;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function spatialShape(v: NiftiVolume): [number, number, number] {
  const s = v.shape;
  if (s.length < 3 || s.slice(3).some((d) => d !== 1))
    throw new InvalidInput(`${v.name}: a 3D volume is needed, got shape ${s.join("x")}`);
  return [s[0], s[1], s[2]];
}

function sameAffine(a: Mat4, b: Mat4): boolean {
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 4; j++) if (Math.abs(a[i][j] - b[i][j]) > AFFINE_TOLERANCE_MM) return false;
  return true;
}

/** Decodes and checks the four sequences: same shape and same affine (within 1e-3 mm). */
export function readSequences(files: Record<SequenceRole, { name: string; bytes: Uint8Array }>): NiftiVolume[] {
  const vols = SEQUENCE_ROLES.map((r) => readNifti(files[r].bytes, files[r].name));
  const shape = spatialShape(vols[0]);
  vols.forEach((v, i) => {
    const s = spatialShape(v);
    if (s.join("x") !== shape.join("x"))
      throw new InvalidInput(
        `sequences differ in shape: ${SEQUENCE_ROLES[0]} is ${shape.join("x")}, ${SEQUENCE_ROLES[i]} is ${s.join("x")}; co-register and resample them to one grid first`,
      );
    if (!sameAffine(v.affine, vols[0].affine))
      throw new InvalidInput(
        `sequences differ in affine: ${SEQUENCE_ROLES[i]}'s voxel-to-world matrix is not ${SEQUENCE_ROLES[0]}'s; co-register them to one grid first`,
      );
  });
  return vols;
}

export async function segmentVolumeFiles(
  model: LoadedModel,
  files: Record<SequenceRole, { name: string; bytes: Uint8Array }>,
  o: VolumeOptions,
): Promise<VolumeOutput> {
  const vols = readSequences(files);
  const shape = spatialShape(vols[0]);
  const affine = vols[0].affine;
  const pre = model.manifest.model.preprocessing;
  const params = pre.dataset ?? SEED000_SLICE_PARAMS;
  // Reorient to LPS (what the dataset slices were cut from) and rescale each volume to 0-255.
  let canonShape: number[] = shape;
  let transform = null as ReturnType<typeof toCanonical>["transform"] | null;
  const scaled = vols.map((v) => {
    const c = toCanonical({ shape, data: v.scaled(), affine });
    canonShape = c.volume.shape;
    transform = c.transform;
    return rescaleTo255(c.volume.data, params.rescale, params.percentile);
  });
  const [X, Y, Z] = canonShape;
  const S = params.padTo === "pow2" ? nextPow2(Math.max(X, Y)) : Math.max(params.padTo, X, Y);
  const side = pre.inputSize;
  const top = Math.floor((S - Y) / 2);
  const left = Math.floor((S - X) / 2);
  const out = new Uint8Array(X * Y * Z);
  const batchSize = Math.max(1, o.batchSize || 16);
  const started = performance.now();
  let pending: number[] = [];
  const run = async () => {
    if (!pending.length) return;
    const n = pending.length;
    const data = new Uint8Array(n * S * S * 5);
    pending.forEach((z, k) => {
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++) {
          const v = x + X * (y + Y * z);
          const d = (k * S * S + (y + top) * S + (x + left)) * 5;
          for (let c = 0; c < 4; c++) data[d + c] = scaled[c][v];
        }
    });
    const small = resizeBatch(
      { height: S, width: S, channels: 5, count: n, data, sliceIndex: pending, subject: [] },
      side,
      { maskChannel: 4 },
    );
    const x4 = new Float32Array(n * side * side * 4);
    for (let p = 0; p < n * side * side; p++) for (let c = 0; c < 4; c++) x4[p * 4 + c] = small.data[p * 5 + c];
    const r = await segmentSlices(
      model.net,
      { data: x4, n, height: side, width: side, channels: 4 },
      { batchSize, tta: o.tta ? "flip" : "none" },
    );
    pending.forEach((z, k) => {
      const lab = r.labels.subarray(k * side * side, (k + 1) * side * side);
      for (let y = 0; y < Y; y++) {
        const sy = Math.min(side - 1, Math.floor(((y + top + 0.5) * side) / S));
        for (let x = 0; x < X; x++) {
          const sx = Math.min(side - 1, Math.floor(((x + left + 0.5) * side) / S));
          out[x + X * (y + Y * z)] = lab[sy * side + sx];
        }
      }
    });
    pending = [];
  };
  for (let z = 0; z < Z; z++) {
    o.signal?.throwIfAborted();
    // Slices without any brain voxel stay background (the net never saw empty slices).
    let any = false;
    const base = X * Y * z;
    for (let i = 0; i < X * Y && !any; i++)
      any = scaled[0][base + i] + scaled[1][base + i] + scaled[2][base + i] + scaled[3][base + i] > 0;
    if (!any) continue;
    pending.push(z);
    if (pending.length >= batchSize) await run();
  }
  await run();
  const inferenceSeconds = (performance.now() - started) / 1000;
  const back = transform ? fromCanonical({ shape: canonShape, data: out, affine }, transform).data : out;
  const labels = toScheme(back as Uint8Array, o.scheme);
  const labelVoxels = new Map<number, number>();
  for (const l of labels) labelVoxels.set(l, (labelVoxels.get(l) ?? 0) + 1);
  const nifti = writeNifti({
    shape,
    data: labels,
    affine,
    descrip: `synthmri ${model.manifest.model.id} v${model.manifest.model.version}`,
  });
  return { nifti, labelVoxels, inferenceSeconds };
}

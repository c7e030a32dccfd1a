import { InvalidInput } from "@synthmri/core";
import type { NiftiVolume } from "../nifti/read.js";
import { type LabelScheme, toInternalLabels } from "./labels.js";
import { ROLES, type Role } from "./layouts.js";

export interface SubjectProblem {
  subject: string;
  /** the file concerned, when one is */
  file?: string;
  reason: string;
}

export function formatProblem(p: SubjectProblem): string {
  return `subject ${p.subject}${p.file ? `: ${p.file}` : ""}: ${p.reason}`;
}

export interface LoadedFile {
  /** the file's path or name, used in messages */
  name: string;
  volume: NiftiVolume;
}

export interface ValidatedSubject {
  subject: string;
  shape: [number, number, number];
  affine: number[][];
  spacing: number[];
  /** scaled intensities per sequence */
  t1: Float32Array | Float64Array;
  t1ce: Float32Array | Float64Array;
  t2: Float32Array | Float64Array;
  flair: Float32Array | Float64Array;
  /** internal labels 0..3 */
  seg: Uint8Array;
}

export interface ValidationOptions {
  scheme: LabelScheme;
  /** largest allowed absolute difference between affine entries of the five files (mm) */
  affineTolerance?: number;
}

/**
 * Check one subject: four sequences and a seg present, 3D, same shape, same affine (within
 * tolerance), finite intensities, labels in the scheme. Returns every problem found, or the
 * subject's data ready for slicing (seg mapped to internal labels).
 */
export function validateSubject(
  subject: string,
  files: Partial<Record<Role, LoadedFile>>,
  opts: ValidationOptions,
): { ok: true; value: ValidatedSubject } | { ok: false; problems: SubjectProblem[] } {
  const problems: SubjectProblem[] = [];
  const tol = opts.affineTolerance ?? 1e-3;
  for (const r of ROLES) {
    if (!files[r])
      problems.push({ subject, reason: `missing ${r === "seg" ? "segmentation (seg)" : `${r} sequence`}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  const ref = files.t1 as LoadedFile;
  const shape3 = (v: NiftiVolume) => (v.shape.length === 4 && v.shape[3] === 1 ? v.shape.slice(0, 3) : v.shape);
  const refShape = shape3(ref.volume);
  for (const r of ROLES) {
    const f = files[r] as LoadedFile;
    const s = shape3(f.volume);
    if (s.length !== 3) {
      problems.push({ subject, file: f.name, reason: `is ${s.length}D (${s.join("x")}); expected a 3D volume` });
      continue;
    }
    if (s.join("x") !== refShape.join("x")) {
      problems.push({
        subject,
        file: f.name,
        reason: `shape ${s.join("x")} differs from ${ref.name} (${refShape.join("x")})`,
      });
    }
    const diff = Math.max(
      ...f.volume.affine.flatMap((row, i) => row.map((v, j) => Math.abs(v - ref.volume.affine[i][j]))),
    );
    if (diff > tol) {
      problems.push({
        subject,
        file: f.name,
        reason: `affine differs from ${ref.name} by up to ${diff.toPrecision(3)} mm (tolerance ${tol})`,
      });
    }
    const pixdim = f.volume.header.pixdim.slice(1, 4);
    if (pixdim.some((p) => !Number.isFinite(p) || p <= 0)) {
      problems.push({
        subject,
        file: f.name,
        reason: `pixdim[1..3] is ${pixdim.join(", ")}: the voxel spacing is undefined (NaN, infinite or not positive)`,
      });
    }
    if (f.volume.datatype.parts !== 1) {
      problems.push({ subject, file: f.name, reason: `datatype ${f.volume.datatype.name} is not a scalar image` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const scaled: Partial<Record<Role, Float32Array | Float64Array>> = {};
  for (const r of ["t1", "t1ce", "t2", "flair"] as const) {
    const f = files[r] as LoadedFile;
    const v = f.volume.scaled();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        problems.push({ subject, file: f.name, reason: `voxel ${i} is ${v[i]} (NaN/Inf values are not allowed)` });
        break;
      }
    }
    scaled[r] = v;
  }
  const segFile = files.seg as LoadedFile;
  let seg: Uint8Array | undefined;
  try {
    const raw = segFile.volume.scaled();
    seg = toInternalLabels(raw, opts.scheme, { subject, file: segFile.name });
  } catch (e) {
    problems.push({
      subject,
      file: segFile.name,
      reason: (e as Error).message.replace(`subject ${subject}: ${segFile.name}: `, ""),
    });
  }
  if (problems.length > 0 || !seg) return { ok: false, problems };
  return {
    ok: true,
    value: {
      subject,
      shape: refShape as [number, number, number],
      affine: ref.volume.affine,
      spacing: ref.volume.spacing,
      t1: scaled.t1 as Float32Array,
      t1ce: scaled.t1ce as Float32Array,
      t2: scaled.t2 as Float32Array,
      flair: scaled.flair as Float32Array,
      seg,
    },
  };
}

/** validateSubject that throws InvalidInput listing every problem. */
export function assertValidSubject(
  subject: string,
  files: Partial<Record<Role, LoadedFile>>,
  opts: ValidationOptions,
): ValidatedSubject {
  const r = validateSubject(subject, files, opts);
  if (!r.ok) throw new InvalidInput(r.problems.map(formatProblem).join("; "));
  return r.value;
}

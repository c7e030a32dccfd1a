import { InvalidInput } from "@synthmri/core";
import { readNifti } from "../nifti/read.js";
import { writeNifti } from "../nifti/write.js";
import { applyReorientation, toCanonicalTransform } from "../orientation.js";
import type { SliceParams } from "../slicing/params.js";
import { type SliceResult, sliceSubject } from "../slicing/slices.js";
import { deidentifiedWriteInput, hashSubjectId } from "./deidentify.js";
import type { LabelScheme } from "./labels.js";
import { ROLES, type Role } from "./layouts.js";
import { type LoadedFile, type SubjectProblem, type ValidatedSubject, validateSubject } from "./validate.js";

export interface PreparedSubject {
  /** the id stored from now on: salted hash when a salt was given, else the source id */
  storedId: string;
  /** validated data, reoriented to canonical LPS */
  subject: ValidatedSubject;
  /** de-identified NIfTI-1 .nii.gz per role, geometry and datatype of the source kept */
  volumes: Record<Role, Uint8Array>;
  slices: SliceResult;
}

/**
 * The whole per-subject ingest step as one pure function: decode the five files, validate,
 * de-identify, reorient to LPS and cut seed-000 slices. Never throws for bad data: problems
 * (each naming subject, file and reason) come back so the caller can fail or skip.
 */
export function prepareSubject(
  sourceId: string,
  files: Partial<Record<Role, { name: string; bytes: Uint8Array }>>,
  opts: {
    scheme: LabelScheme;
    salt?: string;
    slice?: Partial<SliceParams>;
    affineTolerance?: number;
    /** zlib level of the stored volumes (default 6; 1 is ~3x faster and ~15 % larger) */
    gzipLevel?: number;
  },
): { ok: true; value: PreparedSubject } | { ok: false; problems: SubjectProblem[] } {
  const loaded: Partial<Record<Role, LoadedFile>> = {};
  const problems: SubjectProblem[] = [];
  for (const r of ROLES) {
    const f = files[r];
    if (!f) continue;
    try {
      loaded[r] = { name: f.name, volume: readNifti(f.bytes, f.name) };
    } catch (e) {
      if (!(e instanceof InvalidInput)) throw e;
      problems.push({ subject: sourceId, file: f.name, reason: e.message.replace(`${f.name}: `, "") });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const v = validateSubject(sourceId, loaded, { scheme: opts.scheme, affineTolerance: opts.affineTolerance });
  if (!v.ok) return v;
  const storedId = opts.salt ? hashSubjectId(sourceId, opts.salt) : sourceId;

  const volumes = {} as Record<Role, Uint8Array>;
  for (const r of ROLES) {
    const vol = (loaded[r] as LoadedFile).volume;
    volumes[r] = writeNifti({ ...deidentifiedWriteInput(vol), level: opts.gzipLevel ?? 6 });
  }

  const s = v.value;
  const t = toCanonicalTransform(s.affine);
  const re = <T extends Float32Array | Float64Array | Uint8Array>(data: T) =>
    applyReorientation({ shape: s.shape, data, affine: s.affine }, t);
  const seg = re(s.seg);
  const canonical: ValidatedSubject = {
    ...s,
    shape: seg.shape as [number, number, number],
    affine: seg.affine,
    t1: re(s.t1).data,
    t1ce: re(s.t1ce).data,
    t2: re(s.t2).data,
    flair: re(s.flair).data,
    seg: seg.data,
  };
  const slices = sliceSubject(storedId, canonical, opts.slice);
  return { ok: true, value: { storedId, subject: canonical, volumes, slices } };
}

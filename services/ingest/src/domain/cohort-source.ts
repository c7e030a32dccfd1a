// Where a cohort's files come from: a server-side directory, an object-store prefix or an upload
// session. The import reads through this interface only, so it never knows about fs or S3.
import type { LabelScheme, Role, SliceBatch, SliceParams } from "@synthmri/volume";

/**
 * What the import needs of one subject once it is decoded, validated, de-identified, reoriented and sliced:
 * prepareSubject's output, or what an earlier pass over the same bytes kept (upload sessions).
 */
export interface PreparedSubjectData {
  storedId: string;
  /** de-identified NIfTI-1 .nii.gz per role */
  volumes: Record<Role, Uint8Array>;
  /** shape and affine of the canonical (LPS) volume the slices were cut from */
  shape: [number, number, number];
  affine: number[][];
  /** seed-000 slices (before the final resize) */
  batch: SliceBatch;
  /** source bytes read to get it */
  bytesRead: number;
}

/** The parameters a kept preparation must have been made with to stand for a fresh one. */
export interface PrepareKey {
  scheme: LabelScheme;
  slice: SliceParams;
  gzipLevel: number;
}

export interface CohortSource {
  /** Human description for messages ("directory /data/brats", "s3://bucket/prefix/"). */
  readonly description: string;
  /** Every file, as paths relative to the cohort root with "/" separators, sorted. */
  list(): Promise<string[]>;
  /** One file's bytes (path as returned by list()). */
  read(path: string): Promise<Uint8Array>;
  /**
   * A subject already prepared with exactly these parameters (an upload session keeps what UploadSubject
   * made), or undefined: then the import prepares it from the files.
   */
  readPrepared?(subject: string, key: PrepareKey): Promise<PreparedSubjectData | undefined>;
}

/** Largest single source file read (a BraTS .nii.gz is ~2-10 MB; an uncompressed float64 volume ~70 MB). */
export const MAX_SOURCE_FILE_BYTES = 1 << 30;

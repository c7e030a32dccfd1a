// Where a cohort's files come from: a server-side directory, an object-store prefix or an upload
// session. The import reads through this interface only, so it never knows about fs or S3.

export interface CohortSource {
  /** Human description for messages ("directory /data/brats", "s3://bucket/prefix/"). */
  readonly description: string;
  /** Every file, as paths relative to the cohort root with "/" separators, sorted. */
  list(): Promise<string[]>;
  /** One file's bytes (path as returned by list()). */
  read(path: string): Promise<Uint8Array>;
}

/** Largest single source file read (a BraTS .nii.gz is ~2-10 MB; an uncompressed float64 volume ~70 MB). */
export const MAX_SOURCE_FILE_BYTES = 1 << 30;

// Which sources ImportDirectory may read (config IMPORT_ROOTS / IMPORT_S3_PREFIXES). Checked before anything
// is listed or stat'ed, so a refused request learns nothing about the host's files or the bucket's keys:
// without it any absolute path (/etc, /proc/self/root/...) was listed, and an empty s3_prefix imported other
// upload sessions' files.
import { realpathSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { InvalidInput, isBucketName, PermissionDenied } from "@synthmri/platform";

export interface ImportPolicy {
  /** Absolute directories local_path must lie in. */
  roots: readonly string[];
  /** "bucket/prefix" entries an s3_prefix source must fall under. */
  s3Prefixes: readonly string[];
}

/** The largest S3 key is 1024 bytes; a prefix cannot be longer. */
const MAX_PREFIX_BYTES = 1024;

/** Resolved roots (symlinks followed where they exist), so checks compare real paths. */
export function realRoots(roots: readonly string[]): string[] {
  return roots.map((r) => realOrSelf(resolve(r)));
}

/** The real directory to import, when `path` lies inside one of the roots; throws otherwise. */
export function checkLocalPath(path: string, roots: readonly string[]): string {
  if (!path) throw new InvalidInput("local_path is empty; give the cohort directory on the ingest server");
  if (!isAbsolute(path)) throw new InvalidInput("local_path must be absolute (it is read on the ingest server)");
  const lexical = resolve(path);
  const real = realOrSelf(lexical);
  if (!isInside(lexical, roots) || !isInside(real, roots)) {
    throw new PermissionDenied(
      "local_path is outside the directories this ingest server may import from (IMPORT_ROOTS); copy the cohort under one of them or ask the operator to add its directory",
    );
  }
  return real;
}

/** Whether a file met while reading a local cohort still lies inside the roots (symlinks resolved). */
export function isInsideRoots(path: string, roots: readonly string[]): boolean {
  return isInside(realOrSelf(path), roots);
}

/** An s3_prefix's bucket and prefix must be well-formed (INVALID_ARGUMENT), whatever the policy. */
export function checkS3Names(bucket: string, prefix: string): void {
  if (bucket && !isBucketName(bucket)) {
    throw new InvalidInput(
      "s3_prefix.bucket is not a bucket name (3-63 of a-z 0-9 . -, starting and ending alphanumeric); leave it empty for this server's bucket",
    );
  }
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) {
    throw new InvalidInput(`s3_prefix.prefix is longer than ${MAX_PREFIX_BYTES} bytes (the longest S3 key)`);
  }
}

/** An s3_prefix source must fall under one of the allowed "bucket/prefix" entries (PERMISSION_DENIED). */
export function checkS3Allowed(bucket: string, prefix: string, ownBucket: string, policy: ImportPolicy): void {
  const target = `${bucket || ownBucket}/${prefix}`;
  if (!policy.s3Prefixes.some((allowed) => target.startsWith(allowed))) {
    throw new PermissionDenied(
      "s3_prefix is outside the bucket prefixes this ingest server may import from (IMPORT_S3_PREFIXES); upload the cohort under an allowed prefix or use UploadSubject",
    );
  }
}

function isInside(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`));
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

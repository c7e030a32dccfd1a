import { InvalidInput } from "@synthmri/core";

/** Keys the S3 API and a filesystem-backed store (s3rver) both accept. */
export function checkKey(key: string): void {
  // ".." segments are refused because s3rver maps keys onto its data directory.
  if (!key || key.startsWith("/") || key.length > 1024 || key.split("/").includes("..")) {
    throw new InvalidInput(
      `object key "${key.slice(0, 80)}" must be 1-1024 characters, not start with "/" nor contain ".."`,
    );
  }
}

// One place that turns S3/minio/network failures into the suite's typed errors, naming the key or bucket.
import { FailedPrecondition, NotFound, PermissionDenied, SynthError, Unavailable } from "@synthmri/core";

interface ErrLike {
  code?: string;
  message?: string;
}

export function translateStoreError(err: unknown, what: { bucket: string; key?: string; endpoint: string }): Error {
  if (err instanceof SynthError) return err;
  const e = (err ?? {}) as ErrLike;
  const code = e.code ?? "";
  const target = what.key !== undefined ? `object "${what.key}" in bucket "${what.bucket}"` : `bucket "${what.bucket}"`;
  const opts = { cause: err };
  switch (code) {
    case "NoSuchKey":
    case "NotFound":
      return new NotFound(`${target} not found`, opts);
    case "NoSuchBucket":
      return new NotFound(
        `bucket "${what.bucket}" does not exist at ${what.endpoint}; call ensureBucket() or create it`,
        opts,
      );
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
      return new PermissionDenied(
        `object store at ${what.endpoint} refused access to ${target} (${code}); check S3_ACCESS_KEY / S3_SECRET_KEY`,
        opts,
      );
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "ENOTFOUND":
    case "ETIMEDOUT":
    case "EAI_AGAIN":
    case "EPIPE":
      return new Unavailable(`object store at ${what.endpoint} is unreachable (${code}); check S3_ENDPOINT`, opts);
    case "EntityTooSmall":
    case "InvalidPart":
    case "InvalidPartOrder":
      return new FailedPrecondition(`multipart upload of ${target} was rejected (${code}): ${e.message ?? ""}`, opts);
    default: {
      const msg = `object store error on ${target}${code ? ` (${code})` : ""}: ${e.message ?? String(err)}`;
      return new Error(msg, opts);
    }
  }
}

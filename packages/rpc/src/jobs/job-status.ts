// Platform JobStatus (what the JobRunner keeps) -> synthmri.common.v1.JobStatus: the one conversion every
// service's JobService (and ingest's ImportDirectory stream) uses. Job results are { outputs: {role: id},
// artifacts: ObjectRef[] }, or are mapped to that shape by `resultOf`; error_code is the gRPC status code name.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { JobState, type JobStatusSchema } from "@synthmri/contracts";
import type { ErrorKind, JobStatus, ObjectRef } from "@synthmri/platform";
import { codeForKind, codeName } from "../status.js";

export interface JobResult {
  outputs: Record<string, string>;
  artifacts: ObjectRef[];
}

const STATES: Record<JobStatus["state"], JobState> = {
  QUEUED: JobState.QUEUED,
  RUNNING: JobState.RUNNING,
  SUCCEEDED: JobState.SUCCEEDED,
  FAILED: JobState.FAILED,
  CANCELLED: JobState.CANCELLED,
};

export function jobStateFromProto(s: JobState): JobStatus["state"] | undefined {
  return (Object.keys(STATES) as JobStatus["state"][]).find((k) => STATES[k] === s);
}

function ts(iso: string | undefined) {
  return iso ? timestampFromDate(new Date(iso)) : undefined;
}

export function objectRefToProto(r: ObjectRef, contentType = "") {
  return { bucket: r.bucket, key: r.key, sha256: r.sha256, size: BigInt(r.size), contentType };
}

export interface JobStatusOptions {
  /** Unit of progress.done/total ("subjects", "kimg", ...) for a job of this kind; "" when not meaningful. */
  unitOf?: (kind: string) => string;
  /** Maps a job's stored result to { outputs, artifacts } (default: the result already has that shape). */
  resultOf?: (job: JobStatus) => Partial<JobResult> | undefined;
}

/**
 * gRPC status code name of a failed job's error kind ("INVALID_ARGUMENT" for InvalidInput, "INTERNAL" for
 * an unexpected error or an unknown kind); "" when the job has no error.
 */
export function jobErrorCode(error: JobStatus["error"]): string {
  const kind = error?.kind;
  if (!kind) return "";
  const code = kind === "Internal" ? undefined : codeForKind(kind as ErrorKind);
  return codeName(code ?? 13);
}

export function jobStatusToProto(
  s: JobStatus,
  options: JobStatusOptions = {},
): MessageInitShape<typeof JobStatusSchema> {
  const result = options.resultOf ? options.resultOf(s) : ((s.result ?? undefined) as Partial<JobResult> | undefined);
  return {
    id: s.id,
    kind: s.kind,
    state: STATES[s.state],
    progress: {
      fraction: s.fraction,
      message: s.message,
      phase: s.phase,
      etaSeconds: s.etaSeconds ?? 0,
      metrics: s.metrics,
      // A job reports units of its current phase as the metrics "done" and "total".
      done: s.metrics.done ?? 0,
      total: s.metrics.total ?? 0,
      unit: options.unitOf?.(s.kind) ?? "",
    },
    createdAt: ts(s.createdAt),
    startedAt: ts(s.startedAt),
    finishedAt: ts(s.finishedAt),
    errorMessage: s.error?.message ?? "",
    errorCode: jobErrorCode(s.error),
    outputs: result?.outputs ?? {},
    artifacts: (result?.artifacts ?? []).map((r) => objectRefToProto(r)),
    attempt: s.attempt,
  };
}

// Platform JobStatus (what the JobRunner keeps) -> synthmri.common.v1.JobStatus. Job results of this service
// are { outputs: {role: id}, artifacts: ObjectRef[] }.
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

export function jobStatusToProto(s: JobStatus): MessageInitShape<typeof JobStatusSchema> {
  const result = (s.result ?? undefined) as Partial<JobResult> | undefined;
  const kind = s.error?.kind;
  const code = kind ? (kind === "Internal" ? "INTERNAL" : codeName(codeForKind(kind as ErrorKind) ?? 13)) : "";
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
    },
    createdAt: ts(s.createdAt),
    startedAt: ts(s.startedAt),
    finishedAt: ts(s.finishedAt),
    errorMessage: s.error?.message ?? "",
    errorCode: code,
    outputs: result?.outputs ?? {},
    artifacts: (result?.artifacts ?? []).map((r) => objectRefToProto(r)),
    attempt: s.attempt,
  };
}

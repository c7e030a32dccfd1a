// synthmri.common.v1.JobService over the platform JobRunner (GetJob, WatchJob, CancelJob, ListJobs).
// Written service-neutral: another service can copy or import `jobServiceHandlers` as it is.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { JobState, type JobStatus as PbJobStatus, JobStatusSchema, type JobService } from "@synthmri/contracts";
import { InvalidInput, type JobRunner, type JobStatus } from "@synthmri/platform";
import type { ServiceImpl, ServiceMethodsOf } from "@synthmri/rpc";

const STATE: Record<JobStatus["state"], JobState> = {
  QUEUED: JobState.QUEUED,
  RUNNING: JobState.RUNNING,
  SUCCEEDED: JobState.SUCCEEDED,
  FAILED: JobState.FAILED,
  CANCELLED: JobState.CANCELLED,
};

/** Platform job status -> proto. `done`/`total`/`unit` come from the metrics of the same names when present. */
export function pbJobStatus(s: JobStatus, opts: { unit?: string } = {}): PbJobStatus {
  const outputs: Record<string, string> = {};
  if (s.result && typeof s.result === "object") {
    for (const [k, v] of Object.entries(s.result as Record<string, unknown>)) {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") outputs[k] = String(v);
    }
  }
  const ts = (iso?: string) => (iso ? timestampFromDate(new Date(iso)) : undefined);
  return create(JobStatusSchema, {
    id: s.id,
    kind: s.kind,
    state: STATE[s.state],
    progress: {
      fraction: s.fraction,
      message: s.message,
      etaSeconds: s.etaSeconds ?? 0,
      metrics: s.metrics,
      phase: s.phase,
      done: s.metrics.done ?? 0,
      total: s.metrics.total ?? 0,
      unit: opts.unit ?? "",
    },
    createdAt: ts(s.createdAt),
    startedAt: ts(s.startedAt),
    finishedAt: ts(s.finishedAt),
    errorMessage: s.error?.message ?? "",
    errorCode: s.error?.kind ?? "",
    outputs,
    attempt: s.attempt,
  });
}

const PB_TO_STATE = new Map(Object.entries(STATE).map(([k, v]) => [v, k as JobStatus["state"]]));

export function jobServiceHandlers(
  runner: JobRunner,
  opts: { unitOf?: (kind: string) => string } = {},
): ServiceImpl<ServiceMethodsOf<typeof JobService>> {
  const pb = (s: JobStatus) => pbJobStatus(s, { unit: opts.unitOf?.(s.kind) });
  const need = (id: string) => {
    if (!id) throw new InvalidInput("job_id is required");
    return id;
  };
  return {
    async getJob(req) {
      return { job: pb(await runner.get(need(req.jobId))) };
    },
    async *watchJob(req, ctx) {
      let last = 0;
      for await (const s of runner.watch(need(req.jobId), { signal: ctx.signal })) {
        // min_interval_ms thins progress updates; state changes and the terminal status always go out.
        const now = Date.now();
        if (req.minIntervalMs && s.state === "RUNNING" && now - last < req.minIntervalMs) continue;
        last = now;
        yield { job: pb(s) };
      }
    },
    async cancelJob(req) {
      return { job: pb(await runner.cancel(need(req.jobId), req.reason || "cancelled by request")) };
    },
    async listJobs(req) {
      const states = new Set(req.states.map((s) => PB_TO_STATE.get(s)));
      const all = (await runner.list())
        .filter((s) => !req.kind || s.kind === req.kind)
        .filter((s) => states.size === 0 || states.has(s.state))
        .reverse();
      const size = req.page?.pageSize || 100;
      const start = req.page?.pageToken ? Number(req.page.pageToken) : 0;
      if (!Number.isInteger(start) || start < 0) throw new InvalidInput("page_token is not one this service gave out");
      const page = all.slice(start, start + size);
      return { jobs: page.map(pb), nextPageToken: start + size < all.length ? String(start + size) : "" };
    },
  };
}

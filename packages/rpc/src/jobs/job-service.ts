// synthmri.common.v1.JobService over a service's JobRunner: the one implementation every service serves.
// `unitOf` names the progress unit per job kind and `resultOf` maps a result that is not already
// { outputs, artifacts } (ingest's import report); `visible` narrows the view to the jobs one caller may see
// (the generator's partner listener: a partner's own requests).
import type { JobService } from "@synthmri/contracts";
import { InvalidInput, type JobRunner, type JobStatus, NotFound } from "@synthmri/platform";
import type { CallContext } from "../context.js";
import type { ServiceImpl } from "../handler-types.js";
import { type JobStatusOptions, jobStateFromProto, jobStatusToProto } from "./job-status.js";

const DEFAULT_WATCH_INTERVAL_MS = 250;
const DEFAULT_PAGE = 100;

export interface JobHandlerOptions extends JobStatusOptions {
  /**
   * Whether the caller may see this job. A job it may not see answers NOT_FOUND with the very message of an
   * unknown id (so its existence is not revealed), is left out of ListJobs and cannot be cancelled.
   * Default: every job is visible.
   */
  visible?: (job: JobStatus, ctx: CallContext) => boolean;
}

export function jobHandlers(
  jobs: JobRunner,
  options: JobHandlerOptions = {},
): ServiceImpl<(typeof JobService)["method"]> {
  const visible = options.visible;
  const toProto = (s: JobStatus) => jobStatusToProto(s, options);
  /**
   * Rejects an empty id and, with `visible`, a job the caller may not see (the runner's own not-found error);
   * returns the job when it had to read it (with `visible`), so getJob reads it once.
   */
  async function checkJobId(jobId: string, ctx: CallContext): Promise<JobStatus | undefined> {
    if (!jobId) throw new InvalidInput("job_id is empty");
    if (!visible) return undefined;
    const job = await jobs.get(jobId);
    if (!visible(job, ctx)) throw new NotFound(`job "${jobId}" not found in service ${jobs.service}`);
    return job;
  }
  return {
    async getJob(req, ctx) {
      return { job: toProto((await checkJobId(req.jobId, ctx)) ?? (await jobs.get(req.jobId))) };
    },
    async *watchJob(req, ctx) {
      // Checked before the first message: an invisible job's stream ends with NOT_FOUND and no status.
      await checkJobId(req.jobId, ctx);
      const interval = req.minIntervalMs || DEFAULT_WATCH_INTERVAL_MS;
      let lastState = "";
      let lastSent = 0;
      // Progress is throttled to one message per interval; every state change (and the end) is sent.
      for await (const s of jobs.watch(req.jobId, { signal: ctx.signal })) {
        const now = Date.now();
        const terminal = s.state === "SUCCEEDED" || s.state === "FAILED" || s.state === "CANCELLED";
        if (s.state !== lastState || terminal || now - lastSent >= interval) {
          lastState = s.state;
          lastSent = now;
          yield { job: toProto(s) };
        }
      }
    },
    async cancelJob(req, ctx) {
      await checkJobId(req.jobId, ctx);
      return { job: toProto(await jobs.cancel(req.jobId, req.reason || "cancelled by request")) };
    },
    async listJobs(req, ctx) {
      const states = new Set(req.states.map(jobStateFromProto).filter((s) => s !== undefined));
      const all = (await jobs.list())
        .filter((j) => !visible || visible(j, ctx))
        .filter((j) => !req.kind || j.kind === req.kind)
        .filter((j) => states.size === 0 || states.has(j.state))
        .reverse();
      const size = req.page?.pageSize || DEFAULT_PAGE;
      const start = req.page?.pageToken ? Number.parseInt(req.page.pageToken, 10) : 0;
      if (!Number.isInteger(start) || start < 0)
        throw new InvalidInput(`page_token "${req.page?.pageToken}" is not one this server issued`);
      const page = all.slice(start, start + size);
      return {
        jobs: page.map(toProto),
        nextPageToken: start + size < all.length ? String(start + size) : "",
      };
    },
  };
}

// synthmri.common.v1.JobService over a service's JobRunner, shared by the services whose job results are
// { outputs, artifacts } (ingest adds per-kind progress units on top of its own).
import type { JobService } from "@synthmri/contracts";
import { InvalidInput, type JobRunner } from "@synthmri/platform";
import type { ServiceImpl } from "../handler-types.js";
import { jobStateFromProto, jobStatusToProto } from "./job-status.js";

const DEFAULT_WATCH_INTERVAL_MS = 250;
const DEFAULT_PAGE = 100;

export function jobHandlers(jobs: JobRunner): ServiceImpl<(typeof JobService)["method"]> {
  return {
    async getJob(req) {
      if (!req.jobId) throw new InvalidInput("job_id is empty");
      return { job: jobStatusToProto(await jobs.get(req.jobId)) };
    },
    async *watchJob(req, ctx) {
      if (!req.jobId) throw new InvalidInput("job_id is empty");
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
          yield { job: jobStatusToProto(s) };
        }
      }
    },
    async cancelJob(req) {
      if (!req.jobId) throw new InvalidInput("job_id is empty");
      return { job: jobStatusToProto(await jobs.cancel(req.jobId, req.reason || "cancelled by request")) };
    },
    async listJobs(req) {
      const states = new Set(req.states.map(jobStateFromProto).filter((s) => s !== undefined));
      const all = (await jobs.list())
        .filter((j) => !req.kind || j.kind === req.kind)
        .filter((j) => states.size === 0 || states.has(j.state))
        .reverse();
      const size = req.page?.pageSize || DEFAULT_PAGE;
      const start = req.page?.pageToken ? Number.parseInt(req.page.pageToken, 10) : 0;
      if (!Number.isInteger(start) || start < 0)
        throw new InvalidInput(`page_token "${req.page?.pageToken}" is not one this server issued`);
      const page = all.slice(start, start + size);
      return {
        jobs: page.map(jobStatusToProto),
        nextPageToken: start + size < all.length ? String(start + size) : "",
      };
    },
  };
}

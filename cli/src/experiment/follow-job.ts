// Follows a job through JobService.WatchJob until it ends, reporting every status; reconnects (GetJob, then
// WatchJob again) when the stream breaks, and turns FAILED/CANCELLED into an error that says why.
import { type JobService, JobState, type JobStatus } from "@synthmri/contracts";
import type { Client } from "@synthmri/rpc";

export class JobFailed extends Error {
  constructor(
    readonly service: string,
    readonly job: JobStatus,
  ) {
    const what = `${service} job ${job.kind || "?"} ${job.id}`;
    const why =
      job.state === JobState.CANCELLED
        ? `was cancelled${job.errorMessage ? `: ${job.errorMessage}` : ""}`
        : `failed${job.errorCode ? ` (${job.errorCode})` : ""}: ${job.errorMessage || "no reason given"}`;
    super(`${what} ${why}`);
  }
}

export function isTerminal(state: JobState): boolean {
  return state === JobState.SUCCEEDED || state === JobState.FAILED || state === JobState.CANCELLED;
}

export interface FollowOptions {
  onStatus?: (job: JobStatus) => void;
  signal?: AbortSignal;
  /** Reconnect attempts after a broken stream (default 30, 2 s apart). */
  retries?: number;
  minIntervalMs?: number;
}

/** Resolves with the final SUCCEEDED status; rejects with JobFailed on FAILED/CANCELLED. */
export async function followJob(
  jobs: Client<typeof JobService.method>,
  service: string,
  jobId: string,
  options: FollowOptions = {},
): Promise<JobStatus> {
  let last: JobStatus | undefined;
  let retriesLeft = options.retries ?? 30;
  for (;;) {
    try {
      for await (const res of jobs.watchJob(
        { jobId, minIntervalMs: options.minIntervalMs ?? 500 },
        { signal: options.signal },
      )) {
        if (!res.job) continue;
        last = res.job;
        options.onStatus?.(res.job);
        if (isTerminal(res.job.state)) break;
      }
      if (!last || !isTerminal(last.state)) {
        // The stream ended without a final state (server restart): ask directly.
        const got = await jobs.getJob({ jobId }, { signal: options.signal });
        if (got.job) {
          last = got.job;
          options.onStatus?.(got.job);
        }
      }
      if (last && isTerminal(last.state)) break;
      throw new Error(`watch of ${service} job ${jobId} ended before the job finished`);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const code = (err as { code?: number }).code;
      // NOT_FOUND (5), INVALID_ARGUMENT (3): retrying will not help.
      if (code === 5 || code === 3 || retriesLeft-- <= 0) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  if (last.state !== JobState.SUCCEEDED) throw new JobFailed(service, last);
  return last;
}

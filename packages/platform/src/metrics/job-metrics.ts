// Job progress and state counts from the JobRunner's status feed (subscribe()), so every service that runs
// jobs gets the same series without touching its job code.
import { Counter } from "prom-client";
import type { JobRunner } from "../jobs/job-runner.js";
import { isTerminalJobState, type JobState, type JobStatus } from "../jobs/job-types.js";
import { gaugeOnce, type MetricsRegistry } from "./registry.js";

/**
 * - `synthmri_job_progress{kind,job}`: fraction done of each running job (removed when it ends, so finished
 *   jobs do not accumulate series);
 * - `synthmri_jobs_active{kind,state}`: queued/running jobs right now;
 * - `synthmri_job_transitions_total{kind,state}`: how many jobs entered each state (RUNNING, SUCCEEDED, ...).
 * Returns the unsubscribe function.
 */
export function instrumentJobs(runner: Pick<JobRunner, "subscribe">, registry: MetricsRegistry): () => void {
  const progress = gaugeOnce(registry, "synthmri_job_progress", "Fraction done of a running job", ["kind", "job"]);
  const active = gaugeOnce(registry, "synthmri_jobs_active", "Jobs queued or running now", ["kind", "state"]);
  const transitions =
    (registry.getSingleMetric("synthmri_job_transitions_total") as Counter<"kind" | "state"> | undefined) ??
    new Counter({
      name: "synthmri_job_transitions_total",
      help: "Jobs that entered each state",
      labelNames: ["kind", "state"],
      registers: [registry],
    });
  const lastState = new Map<string, { kind: string; state: JobState }>();
  return runner.subscribe((s: JobStatus) => {
    const before = lastState.get(s.id);
    if (before?.state !== s.state) {
      transitions.inc({ kind: s.kind, state: s.state });
      if (before && !isTerminalJobState(before.state)) active.dec({ kind: before.kind, state: before.state });
      if (!isTerminalJobState(s.state)) active.inc({ kind: s.kind, state: s.state });
    }
    if (isTerminalJobState(s.state)) {
      lastState.delete(s.id);
      progress.remove({ kind: s.kind, job: s.id });
    } else {
      lastState.set(s.id, { kind: s.kind, state: s.state });
      progress.set({ kind: s.kind, job: s.id }, s.fraction);
    }
  });
}

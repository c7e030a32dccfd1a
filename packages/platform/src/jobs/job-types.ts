// Job contracts: what a long piece of work (ingest, training, evaluation) sees, and what watchers see.
import type { Logger } from "@synthmri/core";

export type JobState = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export const TERMINAL_JOB_STATES: readonly JobState[] = ["SUCCEEDED", "FAILED", "CANCELLED"];
export function isTerminalJobState(state: JobState): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}

export interface JobProgress {
  /** Overall completion in [0, 1]. */
  fraction?: number;
  message?: string;
  /** e.g. "epoch 3/20", "import", "sample". */
  phase?: string;
  /** Merged into the job's metrics (finite numbers only: losses, dice, throughput). */
  metrics?: Record<string, number>;
  /** Overrides the ETA the runner estimates from the progress rate. */
  etaSeconds?: number;
}

export interface JobError {
  /** A typed error kind (InvalidInput, NotFound, ...) or "Internal". */
  kind: string;
  message: string;
}

/** A snapshot of one job; also what is persisted at jobs/<service>/<id>.json. */
export interface JobStatus {
  id: string;
  kind: string;
  service: string;
  state: JobState;
  /** What start() was given (JSON); a resume handler gets it back after a restart. */
  params: unknown;
  fraction: number;
  message: string;
  phase: string;
  metrics: Record<string, number>;
  etaSeconds: number | undefined;
  /** 1 for the first run, +1 for each resume after a restart. */
  attempt: number;
  cancelRequested: boolean;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: JobError;
  /** What the work resolved to (keep it small: ids, ObjectRefs). */
  result?: unknown;
}

export interface JobContext<P = unknown> {
  id: string;
  kind: string;
  params: P;
  /** Aborted on cancel() (reason: Cancelled) and on shutdown(); check it at loop boundaries. */
  signal: AbortSignal;
  attempt: number;
  /** True when this run continues a job interrupted by a restart (look for your checkpoint). */
  resumed: boolean;
  logger: Logger;
  progress(update: JobProgress): void;
}

export type JobWork<P = unknown, R = unknown> = (ctx: JobContext<P>) => Promise<R>;

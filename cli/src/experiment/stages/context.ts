// What every stage gets: the spec, the clients, the board, and the shared ways to run a cached stage, follow a
// job on a board row and re-attach to an interrupted job. A stage is a function (context, input refs) -> refs.
import type { JobStatus } from "@synthmri/contracts";
import type { ScaleOut } from "../../kube/scale-out.js";
import type { ProgressBoard } from "../../ui/progress-board.js";
import type { ServiceClients, ServiceKey } from "../clients.js";
import { followJob, isTerminal } from "../follow-job.js";
import type { ProgressHistory } from "../progress-history.js";
import type { ExperimentSpec } from "../spec.js";
import type { PendingRecord, StageCache, StageContext, StageOutcome, StageOptions } from "../stage-cache.js";
import { isNotFound, rowState } from "./job-calls.js";
import { JobState } from "@synthmri/contracts";

export interface StageLog {
  stage: string;
  key: string;
  how: StageOutcome<Record<string, unknown>>["how"];
  seconds: number;
  result: Record<string, unknown>;
}

/** One cached step: `stage` + `material` make the cache key; `log` names it in the stage log. */
export interface StageRun<T extends Record<string, unknown>> extends StageOptions<T> {
  log: string;
  stage: string;
  material: unknown;
  produce: (ctx: StageContext) => Promise<T>;
}

export interface ExperimentContext {
  spec: ExperimentSpec;
  experimentId: string;
  clients: ServiceClients;
  board: ProgressBoard;
  history: ProgressHistory;
  /** Where phantom cohorts are written (must be readable by the ingest service). */
  workDir: string;
  /** The experiment's output directory (out/<id>); handed to Compare when the evaluator is local. */
  outDir: string;
  evaluatorWritesOutDir: boolean;
  signal?: AbortSignal;
  /** Set when the spec's executor is kubernetes: U-Net runs train as cluster pods instead of service jobs. */
  scaleOut?: ScaleOut;
  /** Every cached step in the order it finished. */
  stages: StageLog[];
  /** "service@address", the board's service column. */
  where(service: ServiceKey): string;
  /** Runs a step through the StageCache and logs how (ran / cached / resumed) and how long. */
  runStage<T extends Record<string, unknown>>(run: StageRun<T>): Promise<StageOutcome<T>>;
  /** Follows a job, drawing it on a board row; SUCCEEDED status back, JobFailed otherwise. */
  watch(service: ServiceKey, jobId: string, row: string, record?: (j: JobStatus) => void): Promise<JobStatus>;
  /** A `resume` for StageCache: re-attaches to an interrupted stage's job when it still exists and has not failed. */
  resumeJob<T>(service: ServiceKey, row: string): (pending: PendingRecord) => Promise<T | undefined>;
  /** Marks a row finished: "cached" when the stage was reused, "done" otherwise. */
  finishRow(row: string, how: StageOutcome<unknown>["how"], message: string): void;
}

export interface ExperimentContextOptions {
  spec: ExperimentSpec;
  experimentId: string;
  clients: ServiceClients;
  cache: StageCache;
  board: ProgressBoard;
  history: ProgressHistory;
  workDir: string;
  outDir: string;
  evaluatorWritesOutDir: boolean;
  signal?: AbortSignal;
  scaleOut?: ScaleOut;
}

export function experimentContext(o: ExperimentContextOptions): ExperimentContext {
  const { clients, board, cache } = o;
  const stages: StageLog[] = [];
  const watch: ExperimentContext["watch"] = (service, jobId, row, record) =>
    followJob(clients.jobs[service], service, jobId, {
      signal: o.signal,
      onStatus: (j) => {
        record?.(j);
        const p = j.progress;
        const unit = p && p.total > 0 ? ` ${p.done}/${p.total} ${p.unit}` : "";
        board.update(row, {
          state: rowState(j.state),
          fraction: p?.fraction,
          message: `${p?.phase ? `${p.phase}${unit} ` : ""}${p?.message ?? ""}`.trim(),
        });
      },
    });
  return {
    spec: o.spec,
    experimentId: o.experimentId,
    clients,
    board,
    history: o.history,
    workDir: o.workDir,
    outDir: o.outDir,
    evaluatorWritesOutDir: o.evaluatorWritesOutDir,
    signal: o.signal,
    scaleOut: o.scaleOut,
    stages,
    where: (s) => `${s}@${clients.addresses[s]}`,
    async runStage(run) {
      const t0 = Date.now();
      const out = await cache.run(run.stage, run.material, run.produce, { verify: run.verify, resume: run.resume });
      stages.push({
        stage: run.log,
        key: out.key,
        how: out.how,
        seconds: (Date.now() - t0) / 1000,
        result: out.result,
      });
      return out;
    },
    watch,
    resumeJob:
      <T>(service: ServiceKey, row: string) =>
      async (pending: PendingRecord): Promise<T | undefined> => {
        try {
          const got = await clients.jobs[service].getJob({ jobId: pending.jobId });
          if (!got.job || (isTerminal(got.job.state) && got.job.state !== JobState.SUCCEEDED)) return undefined;
          board.log(`re-attaching to ${service} job ${pending.jobId} (${pending.stage}) of an interrupted run`);
          await watch(service, pending.jobId, row);
          return pending.submitted as T;
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
    finishRow(row, how, message) {
      board.update(row, { state: how === "cached" ? "cached" : "done", message });
    },
  };
}

// Parent side of train-child-main.ts: a RunTrainer that holds one of the service's training slots
// (TRAIN_PROCESSES, shared by all TrainSegmenter jobs) while the run trains in its own child process, and
// relays the run's training reports. Cancelling the job (or shutting the service down) stops the child.
import { fileURLToPath } from "node:url";
import type { SegTrainProgress } from "@synthmri/ml";
import { type ObjectRef, runChild, type Semaphore, type TrainProcesses } from "@synthmri/platform";
import type { RunTrainer } from "../domain/train-job.js";
import type { TrainParams } from "../domain/types.js";

export const TRAIN_CHILD_MAIN = fileURLToPath(new URL("../train-child-main.ts", import.meta.url));

export type { TrainProcesses };

/** What train-child-main.ts receives over IPC (ids and settings only; it reads the slices itself). */
export interface TrainChildParams {
  jobId: string;
  params: TrainParams;
  run: number;
  /** The service's provenance, recorded in the published model as inline. */
  provenance?: Record<string, unknown>;
}

export function childRunTrainer(
  processes: TrainProcesses,
  slots: Semaphore,
  provenance: Record<string, unknown> | undefined,
): RunTrainer {
  return async (r) => {
    const release = await slots.acquire(r.signal);
    try {
      const params: TrainChildParams = { jobId: r.jobId, params: r.params, run: r.run, provenance };
      return await runChild<ObjectRef, SegTrainProgress>(TRAIN_CHILD_MAIN, params, {
        signal: r.signal,
        env: processes.env,
        label: `segmenter run ${r.run} of job ${r.jobId}`,
        onProgress: r.onProgress,
        onSpawn: (pid) => {
          r.logger.info("training child started", { run: r.run, pid });
          processes.onSpawn?.(pid);
        },
      });
    } finally {
      release();
    }
  };
}

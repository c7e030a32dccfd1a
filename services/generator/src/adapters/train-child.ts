// Parent side of train-child-main.ts: holds the member's training slots (the ensemble's concurrency and the
// service's TRAIN_PROCESSES) while the member trains in its own child process, relays its progress to the
// job and returns its result. Cancelling the job (or shutting the service down) stops the child.
import { fileURLToPath } from "node:url";
import { type JobProgress, type Logger, runChild, type Semaphore, type TrainProcesses } from "@synthmri/platform";
import type { QualitySettings } from "../domain/checkpoints.js";
import type { Control, TrainMemberParams, TrainMemberResult } from "../domain/training.js";

export const TRAIN_CHILD_MAIN = fileURLToPath(new URL("../train-child-main.ts", import.meta.url));

/** What train-child-main.ts receives over IPC (settings and ids only; it reads the slices itself). */
export interface TrainChildParams {
  member: TrainMemberParams;
  quality?: QualitySettings;
  /** The service's provenance for this job (jobId, backend), recorded in the checkpoints as inline. */
  provenance: Record<string, unknown>;
}

export type { TrainProcesses };

export async function trainMemberInChild(
  p: TrainMemberParams,
  options: {
    slots: Semaphore[];
    processes: TrainProcesses;
    quality?: QualitySettings;
    provenance: Record<string, unknown>;
    logger?: Logger;
  },
  control: Control,
): Promise<TrainMemberResult> {
  const releases: (() => void)[] = [];
  try {
    control.progress({ phase: "waiting", message: "waiting for a training slot" });
    for (const s of options.slots) releases.push(await s.acquire(control.signal));
    control.progress({ phase: "starting", message: "starting a training process" });
    const params: TrainChildParams = { member: p, quality: options.quality, provenance: options.provenance };
    return await runChild<TrainMemberResult, JobProgress>(TRAIN_CHILD_MAIN, params, {
      signal: control.signal,
      env: options.processes.env,
      label: `gan-member ${p.ganId}`,
      onProgress: control.progress,
      onSpawn: (pid) => {
        options.logger?.info("training child started", { ganId: p.ganId, pid });
        options.processes.onSpawn?.(pid);
      },
    });
  } finally {
    for (const r of releases.reverse()) r();
  }
}

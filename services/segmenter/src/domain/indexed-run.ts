// One U-Net run as an item of a Kubernetes Indexed Job (see run-main.ts): the item (a TrainSegmenter job id, its
// params and the run number) is read from the object store by index, the run trains with trainRun (checkpointed
// under the job id and run, so a retried pod resumes from its last checkpoint) and the published model's ref is
// written as the item's result. An item that already has a result is not trained again.
import {
  type ArtifactStore,
  type Logger,
  type ObjectRef,
  putWorkResult,
  readWorkItem,
  tryReadWorkResult,
} from "@synthmri/platform";
import type { DatasetReader } from "./ports.js";
import { loadJobTrainingSet, trainRun } from "./train-job.js";
import type { TrainParams } from "./types.js";

/** What the experiment runner writes for each U-Net run it fans out. */
export interface UnetRunItem {
  jobId: string;
  params: TrainParams;
  run: number;
}

export interface UnetRunResult {
  modelId: string;
  ref: ObjectRef;
}

export async function runUnetItem(
  deps: { artifacts: ArtifactStore; datasets: DatasetReader; provenance?: Record<string, unknown>; logger: Logger },
  prefix: string,
  index: number,
  signal: AbortSignal,
): Promise<UnetRunResult> {
  const store = deps.artifacts.objects;
  const done = await tryReadWorkResult<UnetRunResult>(store, prefix, index);
  if (done) return done;
  const item = await readWorkItem<UnetRunItem>(store, prefix, index);
  const logger = deps.logger.child({ jobId: item.jobId, run: item.run });
  const { set, inputs } = await loadJobTrainingSet(deps.datasets, item.params, signal);
  const ref = await trainRun(
    { artifacts: deps.artifacts, datasets: deps.datasets, provenance: deps.provenance },
    set,
    inputs,
    {
      jobId: item.jobId,
      params: item.params,
      run: item.run,
      signal,
      logger,
      onProgress: (e) => {
        if (e.kind === "epoch") logger.info("epoch", { epoch: e.epoch, epochs: e.epochs, dice: e.validation?.mean });
      },
    },
  );
  const result: UnetRunResult = { modelId: item.params.modelIds[item.run] ?? "", ref };
  await putWorkResult(store, prefix, index, result);
  return result;
}

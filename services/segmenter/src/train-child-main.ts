// One run of a TrainSegmenter job in its own process (TRAIN_PROCESSES > 0), started by runChild from
// adapters/train-child.ts so that runs train on separate cores. It builds its store and artifact store from
// config (env: S3_*, TF_BACKEND, LOG_LEVEL, passed by the service), loads the job's training set and runs the
// same trainRun as the service would inline: same checkpoint key, same resume, same published model.
import type { SegTrainProgress } from "@synthmri/ml";
import { loadTrainingChildConfig, type ObjectRef, serveChild } from "@synthmri/platform";
import { StoreDatasetReader } from "./adapters/dataset-store.js";
import type { TrainChildParams } from "./adapters/train-child.js";
import { loadJobTrainingSet, trainRun } from "./domain/train-job.js";
import { openProcessDeps } from "./process-deps.js";

serveChild<TrainChildParams, ObjectRef, SegTrainProgress>(async (p, ctx) => {
  const config = loadTrainingChildConfig("a U-Net training child", "the segmenter");
  const d = await openProcessDeps(config, "segmenter-run");
  const logger = d.logger.child({ jobId: p.jobId, run: p.run });
  try {
    const datasets = new StoreDatasetReader(d.artifacts);
    const { set, inputs } = await loadJobTrainingSet(datasets, p.params, ctx.signal);
    return await trainRun({ artifacts: d.artifacts, datasets, provenance: p.provenance ?? d.provenance }, set, inputs, {
      jobId: p.jobId,
      params: p.params,
      run: p.run,
      signal: ctx.signal,
      logger,
      onProgress: ctx.progress,
    });
  } finally {
    await d.objects.close();
  }
});

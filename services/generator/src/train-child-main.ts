// A GAN training child of the generator service (TRAIN_PROCESSES > 0): started by runChild from
// adapters/train-child.ts, one process per member job so that members train on separate cores. It builds its
// own store, artifact store and dataset reader from config (env: S3_*, TF_BACKEND, LOG_LEVEL, passed by the
// service) and runs the same trainMember as the service would inline: same checkpoints, same resume.
import { type JobProgress, loadTrainingChildConfig, serveChild } from "@synthmri/platform";
import type { TrainChildParams } from "./adapters/train-child.js";
import { type TrainMemberResult, trainMember } from "./domain/training.js";
import { openProcessDeps } from "./process-deps.js";

serveChild<TrainChildParams, TrainMemberResult, JobProgress>(async (p, ctx) => {
  const config = loadTrainingChildConfig("a GAN training child", "the generator");
  const opened = await openProcessDeps(config, { name: "generator-member" });
  try {
    return await trainMember(
      {
        ...opened.deps,
        logger: opened.logger.child({ jobId: p.provenance.jobId }),
        // The backend is this process's own (the same as the service's unless TF_BACKEND differs).
        provenance: { ...p.provenance, backend: opened.backend },
        quality: p.quality,
      },
      p.member,
      { signal: ctx.signal, progress: ctx.progress },
    );
  } finally {
    await opened.close();
  }
});

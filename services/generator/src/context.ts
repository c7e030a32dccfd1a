// The generator's wiring (what server.ts builds from GeneratorDeps and hands to the handlers): the ensemble
// registry, the dataset reader, the work and training slots, and the work of each job kind. The job works are
// shared by the RPCs that start jobs and by JobRunner.recover() after a restart (params are persisted with the
// job, ids included, so a resumed training continues from its checkpoint and a resumed dataset job writes the
// dataset id the caller was promised).
import { type JobContext, type ResumeHandlers, Semaphore } from "@synthmri/platform";
import { StoreDatasetReader } from "./adapters/dataset-store.js";
import { trainMemberInChild } from "./adapters/train-child.js";
import { type EnsembleParams, JOB_KINDS, runEnsembleParent } from "./domain/ensembles.js";
import { EnsembleRegistry } from "./domain/registry.js";
import { KeyedSemaphores } from "./domain/slots.js";
import { createSyntheticDataset, type SyntheticDatasetParams } from "./domain/synthetic.js";
import { type TrainMemberParams, trainMember } from "./domain/training.js";
import type { GeneratorDeps } from "./deps.js";
import type { JobResult } from "@synthmri/rpc";

export type GeneratorContext = ReturnType<typeof generatorContext>;

export function generatorContext(deps: GeneratorDeps) {
  const registry = new EnsembleRegistry(deps.store);
  const datasets = deps.datasets ?? new StoreDatasetReader(deps.artifacts);
  const work = new Semaphore(Math.max(1, deps.workConcurrency ?? 1));
  // Training children (TRAIN_PROCESSES > 0) and their service-wide slots.
  const isolated =
    deps.trainProcesses && deps.trainProcesses.max > 0
      ? { processes: deps.trainProcesses, slots: new Semaphore(deps.trainProcesses.max) }
      : undefined;
  const perEnsemble = new KeyedSemaphores();
  const provenance = { service: "generator", ...deps.provenance };
  const common = { ...deps, registry, datasets, provenance };

  const trainGan = async (ctx: JobContext<TrainMemberParams>): Promise<JobResult> => {
    const p = ctx.params;
    const control = { signal: ctx.signal, progress: ctx.progress };
    const jobProvenance = { ...provenance, jobId: ctx.id };
    const r = isolated
      ? await trainMemberInChild(
          p,
          {
            slots: [perEnsemble.get(p.ensembleId, p.concurrency), isolated.slots],
            processes: isolated.processes,
            quality: deps.quality,
            provenance: jobProvenance,
            logger: ctx.logger,
          },
          control,
        )
      : await trainMember(
          {
            ...common,
            logger: ctx.logger,
            provenance: jobProvenance,
            slots: [perEnsemble.get(p.ensembleId, p.concurrency), work],
          },
          p,
          control,
        );
    return {
      outputs: { gan_id: r.ganId, checkpoint_id: r.checkpointId, kimg: String(r.kimg) },
      artifacts: [r.checkpoint],
    };
  };
  const trainEnsemble = async (ctx: JobContext<EnsembleParams>): Promise<JobResult> => {
    const r = await runEnsembleParent({ ...common, provenance: { ...provenance, jobId: ctx.id } }, ctx.params, {
      signal: ctx.signal,
      progress: ctx.progress,
    });
    return { outputs: { ensemble_id: ctx.params.ensembleId }, artifacts: [r.manifest] };
  };
  const syntheticDataset = async (ctx: JobContext<SyntheticDatasetParams>): Promise<JobResult> => {
    const release = await work.acquire(ctx.signal);
    try {
      const r = await createSyntheticDataset({ ...common, provenance: { ...provenance, jobId: ctx.id } }, ctx.params, {
        signal: ctx.signal,
        progress: ctx.progress,
      });
      return {
        outputs: { dataset_id: r.datasetId, delivered: String(r.delivered), rejected: String(r.rejected) },
        artifacts: [r.manifest],
      };
    } finally {
      release();
    }
  };
  const resumeHandlers: ResumeHandlers = {
    [JOB_KINDS.trainGan]: trainGan,
    [JOB_KINDS.trainEnsemble]: trainEnsemble,
    [JOB_KINDS.syntheticDataset]: syntheticDataset,
  };
  return { ...common, works: { trainGan, trainEnsemble, syntheticDataset }, resumeHandlers };
}

// One ensemble member as a standalone process: what each pod of a GAN Indexed Job runs. Two ways to start it:
// - the experiment runner's Job (cli/src/kube, `executor: kubernetes`): WORK_PREFIX is set, the member's item
//   (its TrainMemberParams, planned by the runner exactly as TrainEnsemble would) is read from the object store by
//   JOB_COMPLETION_INDEX and its result written back (domain/cluster-ensemble.ts); the runner commits the ensemble.
// - the Helm chart's Job (deploy/helm/synthmri/templates/gan-ensemble-job.yaml): member index =
//   JOB_COMPLETION_INDEX, seed = BASE_SEED + index, gan id = <ENSEMBLE_ID>-m<index>.
// Either way it resumes from the member's latest checkpoint in the object store, so a preempted pod that is
// retried continues where it stopped. Exit 0 when done.
//
// Env (runner): WORK_PREFIX, JOB_COMPLETION_INDEX. Env (chart): ENSEMBLE_ID, DATASET_ID, BASE_SEED,
// GAN_RESOLUTION, GAN_KIMG (total kimg), JOB_COMPLETION_INDEX; optional ENSEMBLE_MEMBERS (writes the ensemble
// record so GetEnsemble/Sample find the ensemble), GAN_SETTINGS_JSON (more TrainSettings fields, e.g.
// {"kimgPerPhase":600,"batchSize":16}). Both: the usual S3_* / TF_BACKEND / LOG_LEVEL.
import { type Config, InvalidInput, loadConfigOrExit } from "@synthmri/platform";
import { runGanMemberItem } from "./domain/cluster-ensemble.js";
import { memberGanId, memberSeedOf } from "./domain/ensembles.js";
import type { TrainSettings } from "./domain/params.js";
import { checkEnsembleId, EnsembleRegistry } from "./domain/registry.js";
import { trainMember } from "./domain/training.js";
import { openProcessDeps } from "./process-deps.js";

function intEnv(name: string, fallback?: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") {
    if (fallback !== undefined) return fallback;
    throw new InvalidInput(`${name} is not set`);
  }
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new InvalidInput(`${name}="${raw}" must be a non-negative integer`);
  return v;
}

function abortOnSignals(): AbortController {
  const ac = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => ac.abort(new Error(`${sig} received`)));
  return ac;
}

/** The experiment runner's Job: the member item at WORK_PREFIX/items/<JOB_COMPLETION_INDEX>.json. */
async function runItem(config: Config, prefix: string): Promise<void> {
  const index = intEnv("JOB_COMPLETION_INDEX");
  const opened = await openProcessDeps(config, { name: "generator-member", provenance: { member: index } });
  const { logger, deps } = opened;
  const ac = abortOnSignals();
  const started = Date.now();
  try {
    const r = await runGanMemberItem(deps, prefix, index, {
      signal: ac.signal,
      progress: (p) => {
        if (p.metrics?.checkpoint_kimg !== undefined) logger.info("progress", { ...p.metrics, phase: p.phase });
      },
    });
    logger.info("member finished", { ...r, index, seconds: (Date.now() - started) / 1000 });
  } finally {
    await opened.close();
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const prefix = process.env.WORK_PREFIX ?? "";
  if (prefix) return runItem(config, prefix);
  const ensembleId = process.env.ENSEMBLE_ID ?? "";
  checkEnsembleId(ensembleId, "ENSEMBLE_ID");
  const datasetId = process.env.DATASET_ID ?? "";
  if (!datasetId) throw new InvalidInput("DATASET_ID is not set");
  const index = intEnv("JOB_COMPLETION_INDEX", 0);
  const baseSeed = intEnv("BASE_SEED", 0);
  const extra = process.env.GAN_SETTINGS_JSON
    ? (JSON.parse(process.env.GAN_SETTINGS_JSON) as Partial<TrainSettings>)
    : {};
  const settings: TrainSettings = {
    family: "pgan",
    ...extra,
    resolution: intEnv("GAN_RESOLUTION", 256),
    totalKimg: Number(process.env.GAN_KIMG ?? 0) || extra.totalKimg,
  };
  const opened = await openProcessDeps(config, {
    name: "generator-member",
    provenance: { ensembleId, member: index },
  });
  const { logger, deps } = opened;
  const registry = new EnsembleRegistry(deps.store);
  const members = intEnv("ENSEMBLE_MEMBERS", 0);
  if (members > 0 && !(await registry.tryGet(ensembleId))) {
    // Every pod writes the same record (no job ids: the cluster runs the members), so the race is harmless.
    await registry.save({
      id: ensembleId,
      name: ensembleId,
      datasetId,
      settings,
      baseSeed,
      concurrency: members,
      jobId: "",
      createdAt: new Date().toISOString(),
      single: false,
      members: Array.from({ length: members }, (_, i) => ({
        index: i,
        seed: memberSeedOf(baseSeed, i),
        ganId: memberGanId(ensembleId, i),
        jobId: "",
      })),
    });
  }
  const ac = abortOnSignals();
  const started = Date.now();
  const r = await trainMember(
    deps,
    {
      ganId: memberGanId(ensembleId, index),
      ensembleId,
      member: index,
      seed: memberSeedOf(baseSeed, index),
      datasetId,
      settings,
      concurrency: 1,
    },
    {
      signal: ac.signal,
      progress: (p) => {
        if (p.metrics?.checkpoint_kimg !== undefined) logger.info("progress", { ...p.metrics, phase: p.phase });
      },
    },
  );
  logger.info("member finished", { ...r, seconds: (Date.now() - started) / 1000 });
  await opened.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`ensemble member failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

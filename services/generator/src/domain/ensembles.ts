// Starting GAN and ensemble training as jobs, the ensemble's parent job (waits for its members, then commits
// the `ensemble` artifact listing each member's final checkpoint), and the read side (GetEnsemble/ListEnsembles).
import { randomBytes } from "node:crypto";
import {
  type ArtifactStore,
  Cancelled,
  FailedPrecondition,
  InvalidInput,
  type JobRunner,
  type JobState,
  type JobStatus,
  type JobWork,
  type ObjectRef,
  type ObjectStore,
} from "@synthmri/platform";
import { type CheckpointFields, latestCheckpoint } from "./checkpoints.js";
import { checkSeed, MAX_ENSEMBLE_MEMBERS, resolveTraining, type TrainSettings } from "./params.js";
import type { DatasetReader } from "./ports.js";
import type { EnsembleRecord, EnsembleRegistry, MemberRecord } from "./registry.js";
import type { Control, TrainMemberParams } from "./training.js";

export const JOB_KINDS = {
  trainGan: "train-gan",
  trainEnsemble: "train-ensemble",
  syntheticDataset: "synthetic-dataset",
} as const;

export const ENSEMBLE_KIND = "ensemble";

export interface StartDeps {
  jobs: JobRunner;
  registry: EnsembleRegistry;
  datasets: DatasetReader;
}

export interface TrainRequest {
  datasetId: string;
  seed: number;
  settings: TrainSettings;
  name: string;
}

export interface EnsembleRequest {
  datasetId: string;
  members: number;
  baseSeed: number;
  concurrency: number;
  settings: TrainSettings;
  name: string;
}

export interface EnsembleParams {
  ensembleId: string;
  memberJobIds: string[];
  record: EnsembleRecord;
}

/** A job kind's work as the JobRunner runs it (the same function serves start() and recover()). */
export type Work<P> = JobWork<P>;

export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
}

/** Member index -> seed (the Helm chart's Indexed Job uses the same rule: BASE_SEED + index). */
export function memberSeedOf(baseSeed: number, index: number): number {
  return (baseSeed + index) >>> 0;
}

export function memberGanId(ensembleId: string, index: number): string {
  return `${ensembleId}-m${index}`;
}

/** Synchronous checks before any job starts: config ranges, dataset exists and has train slices. */
async function checkTrainable(
  deps: Pick<StartDeps, "datasets">,
  datasetId: string,
  settings: TrainSettings,
): Promise<void> {
  if (!datasetId) throw new InvalidInput("dataset_id is empty");
  resolveTraining(settings);
  const d = await deps.datasets.describe(datasetId);
  if (d.trainSlices < 1)
    throw new FailedPrecondition(`dataset ${datasetId} has no train slices; ingest a cohort with slices first`);
  if (d.sliceShape[2] !== 5)
    throw new FailedPrecondition(`dataset ${datasetId} stores ${d.sliceShape[2]}-channel slices; the GAN needs 5`);
}

export async function startTrainGan(
  deps: StartDeps,
  req: TrainRequest,
  work: Work<TrainMemberParams>,
): Promise<{ jobId: string; ganId: string }> {
  checkSeed(req.seed);
  await checkTrainable(deps, req.datasetId, req.settings);
  const ganId = newId("gan");
  const params: TrainMemberParams = {
    ganId,
    ensembleId: ganId,
    member: 0,
    seed: req.seed,
    datasetId: req.datasetId,
    settings: req.settings,
    concurrency: 1,
  };
  const jobId = deps.jobs.start(JOB_KINDS.trainGan, params, work);
  await deps.registry.save({
    id: ganId,
    name: req.name,
    datasetId: req.datasetId,
    settings: req.settings,
    baseSeed: req.seed,
    concurrency: 1,
    jobId,
    createdAt: new Date().toISOString(),
    single: true,
    members: [{ index: 0, seed: req.seed, ganId, jobId }],
  });
  return { jobId, ganId };
}

/**
 * The checks TrainEnsemble makes before any job starts (members, seed, concurrency, dataset); the concurrency to
 * use. The experiment runner's Kubernetes executor makes the same checks (cluster-ensemble.ts).
 */
/** The registry record of a new ensemble (no parent job yet: `jobId` is set once it starts, or stays "" on a cluster). */
export function ensembleRecordOf(
  ensembleId: string,
  req: EnsembleRequest,
  concurrency: number,
  members: MemberRecord[],
): EnsembleRecord {
  return {
    id: ensembleId,
    name: req.name,
    datasetId: req.datasetId,
    settings: req.settings,
    baseSeed: req.baseSeed,
    concurrency,
    jobId: "",
    createdAt: new Date().toISOString(),
    single: false,
    members,
  };
}

export async function checkEnsembleRequest(deps: Pick<StartDeps, "datasets">, req: EnsembleRequest): Promise<number> {
  if (!Number.isInteger(req.members) || req.members < 1 || req.members > MAX_ENSEMBLE_MEMBERS)
    throw new InvalidInput(`members ${req.members} must be 1..${MAX_ENSEMBLE_MEMBERS} (seed 000 uses 20)`);
  checkSeed(req.baseSeed);
  const concurrency = req.concurrency || 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > req.members)
    throw new InvalidInput(`concurrency ${req.concurrency} must be 1..members (${req.members})`);
  await checkTrainable(deps, req.datasetId, req.settings);
  return concurrency;
}

/** Member i of an ensemble: its gan id and seed (baseSeed + i), wherever it trains. */
export function memberParamsOf(
  ensembleId: string,
  req: Pick<EnsembleRequest, "datasetId" | "baseSeed" | "settings">,
  index: number,
  concurrency: number,
): TrainMemberParams {
  return {
    ganId: memberGanId(ensembleId, index),
    ensembleId,
    member: index,
    seed: memberSeedOf(req.baseSeed, index),
    datasetId: req.datasetId,
    settings: req.settings,
    concurrency,
  };
}

export async function startEnsemble(
  deps: StartDeps,
  req: EnsembleRequest,
  memberWork: Work<TrainMemberParams>,
  parentWork: Work<EnsembleParams>,
): Promise<{ jobId: string; ensembleId: string; memberJobIds: string[] }> {
  const concurrency = await checkEnsembleRequest(deps, req);
  const ensembleId = newId("ens");
  const members: MemberRecord[] = [];
  for (let i = 0; i < req.members; i++) {
    const params = memberParamsOf(ensembleId, req, i, concurrency);
    const jobId = deps.jobs.start(JOB_KINDS.trainGan, params, memberWork);
    members.push({ index: i, seed: params.seed, ganId: params.ganId, jobId });
  }
  const memberJobIds = members.map((m) => m.jobId);
  const record = ensembleRecordOf(ensembleId, req, concurrency, members);
  // The parent gets the record in its params (persisted with the job): it never races the registry write.
  const jobId = deps.jobs.start(
    JOB_KINDS.trainEnsemble,
    { ensembleId, memberJobIds, record } satisfies EnsembleParams,
    parentWork,
  );
  await deps.registry.save({ ...record, jobId });
  return { jobId, ensembleId, memberJobIds };
}

const TERMINAL = new Set<JobState>(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** Terminal status of a job, event driven, also for jobs this process only knows from the store. */
export async function waitForJob(
  jobs: JobRunner,
  id: string,
  signal: AbortSignal,
  onChange?: () => void,
): Promise<JobStatus> {
  for (;;) {
    signal.throwIfAborted();
    const s = await jobs.get(id);
    if (TERMINAL.has(s.state)) return s;
    let stop!: () => void;
    const changed = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const unsubscribe = jobs.subscribe((j) => {
      if (j.id === id) {
        onChange?.();
        if (TERMINAL.has(j.state)) stop();
      }
    });
    // A job recovered after this one may not be registered yet: look again now and then.
    const timer = setTimeout(stop, 2000);
    const onAbort = () => stop();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await changed;
    } finally {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
    }
  }
}

export interface EnsembleDeps {
  jobs: JobRunner;
  registry: EnsembleRegistry;
  artifacts: ArtifactStore;
  store: ObjectStore;
  datasets: DatasetReader;
  provenance?: Record<string, unknown>;
}

export interface EnsembleMemberManifest extends MemberRecord {
  checkpointId: string;
  checkpoint: ObjectRef;
  kimg: number;
  resolution: number;
  swd: number | null;
}

/** The parent job: waits for every member, then commits ensemble/<id> listing their final checkpoints. */
export async function runEnsembleParent(
  deps: EnsembleDeps,
  p: EnsembleParams,
  control: Control,
): Promise<{ manifest: ObjectRef }> {
  const record = p.record;
  const cancelMembers = () => {
    for (const id of p.memberJobIds) void deps.jobs.cancel(id, "ensemble cancelled").catch(() => undefined);
  };
  control.signal.addEventListener("abort", cancelMembers, { once: true });
  try {
    const fractions = new Map<string, number>();
    const report = async () => {
      let sum = 0;
      let done = 0;
      for (const id of p.memberJobIds) {
        const s = await deps.jobs.get(id).catch(() => undefined);
        if (s && TERMINAL.has(s.state)) done++;
        sum += s?.state === "SUCCEEDED" ? 1 : (s?.fraction ?? fractions.get(id) ?? 0);
      }
      control.progress({
        fraction: sum / p.memberJobIds.length,
        phase: "members",
        message: `${done}/${p.memberJobIds.length} members finished`,
        metrics: { members_finished: done },
      });
    };
    const finals = await Promise.all(
      p.memberJobIds.map((id) => waitForJob(deps.jobs, id, control.signal, () => void report().catch(() => undefined))),
    );
    if (control.signal.aborted) throw control.signal.reason ?? new Cancelled("ensemble cancelled");
    const bad = finals.map((s, i) => ({ s, i })).filter(({ s }) => s.state !== "SUCCEEDED");
    if (bad.length) {
      throw new FailedPrecondition(
        `ensemble ${p.ensembleId}: member(s) ${bad.map(({ s, i }) => `${i} ${s.state}${s.error ? ` (${s.error.message})` : ""}`).join("; ")}`,
      );
    }
    return { manifest: await commitEnsemble(deps, record) };
  } finally {
    control.signal.removeEventListener("abort", cancelMembers);
  }
}

/**
 * Commits ensemble/<id> listing each member's final checkpoint, once every member has finished (the parent job
 * here, the experiment runner after a Kubernetes Job); an ensemble already committed is left as it is.
 */
export async function commitEnsemble(
  deps: Pick<EnsembleDeps, "artifacts" | "store" | "datasets" | "provenance">,
  record: EnsembleRecord,
): Promise<ObjectRef> {
  const members: EnsembleMemberManifest[] = [];
  for (const m of record.members) {
    const latest = await latestCheckpoint(deps.store, deps.artifacts, m.ganId);
    if (!latest) throw new FailedPrecondition(`member ${m.index} finished without a checkpoint`);
    members.push({
      ...m,
      checkpointId: latest.id,
      checkpoint: latest.ref,
      kimg: latest.manifest.kimg,
      resolution: latest.manifest.resolution,
      swd: latest.manifest.swd,
    });
  }
  const existing = await deps.artifacts.tryGetManifest(ENSEMBLE_KIND, record.id);
  if (existing) return deps.artifacts.manifestRef(ENSEMBLE_KIND, record.id);
  const dataset = await deps.datasets.describe(record.datasetId).catch(() => undefined);
  const w = await deps.artifacts.beginArtifact(ENSEMBLE_KIND, record.id);
  const { ref } = await w.commit({
    inputs: [...members.map((m) => m.checkpoint), ...(dataset ? [dataset.manifest] : [])],
    params: { settings: record.settings, baseSeed: record.baseSeed, members: record.members.length },
    provenance: { service: "generator", ...deps.provenance, seed: record.baseSeed },
    extra: {
      ensembleId: record.id,
      name: record.name,
      datasetId: record.datasetId,
      family: record.settings.family,
      baseSeed: record.baseSeed,
      members,
    },
  });
  return ref;
}

export interface MemberView {
  index: number;
  seed: number;
  ganId: string;
  jobId: string;
  state: JobState;
  checkpoint?: ObjectRef;
  checkpointFields?: CheckpointFields;
}

export interface EnsembleView {
  record: EnsembleRecord;
  members: MemberView[];
  manifest?: ObjectRef;
}

/** An ensemble with live member states: the job's state when this service runs it, else from its checkpoints. */
export async function describeEnsemble(deps: EnsembleDeps, record: EnsembleRecord): Promise<EnsembleView> {
  const members: MemberView[] = [];
  for (const m of record.members) {
    const latest = await latestCheckpoint(deps.store, deps.artifacts, m.ganId);
    let state: JobState | undefined;
    if (m.jobId) state = (await deps.jobs.get(m.jobId).catch(() => undefined))?.state;
    state ??= latest?.manifest.final ? "SUCCEEDED" : latest ? "RUNNING" : "QUEUED";
    members.push({
      index: m.index,
      seed: m.seed,
      ganId: m.ganId,
      jobId: m.jobId,
      state,
      checkpoint: latest?.ref,
      checkpointFields: latest?.manifest,
    });
  }
  const manifest = record.single
    ? undefined
    : (await deps.artifacts.tryGetManifest(ENSEMBLE_KIND, record.id))
      ? await deps.artifacts.manifestRef(ENSEMBLE_KIND, record.id)
      : undefined;
  return { record, members, manifest };
}

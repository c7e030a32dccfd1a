// An ensemble trained as a Kubernetes Indexed Job (the experiment runner's executor, cli/src/kube): the runner
// plans it with the checks and the member ids and seeds TrainEnsemble would use and writes its record; each pod
// (member-main.ts with WORK_PREFIX) trains one member item through trainMember, which checkpoints under the
// member's gan id and resumes from its latest checkpoint, so a retried pod continues where it stopped. Once
// every member has finished the runner commits ensemble/<id> (commitEnsemble), exactly as the parent job does:
// Sample, CreateSyntheticDataset and GetEnsemble read the ensemble unchanged.
import { putWorkResult, readWorkItem, tryReadWorkResult } from "@synthmri/platform";
import { checkEnsembleRequest, type EnsembleRequest, ensembleRecordOf, memberParamsOf } from "./ensembles.js";
import type { DatasetReader } from "./ports.js";
import { checkEnsembleId, type EnsembleRecord } from "./registry.js";
import {
  type Control,
  type TrainingDeps,
  type TrainMemberParams,
  type TrainMemberResult,
  trainMember,
} from "./training.js";

/** What the runner writes for each member it fans out (<WORK_PREFIX>/items/<index>.json). */
export interface GanMemberItem {
  params: TrainMemberParams;
}

/** A finished member (<WORK_PREFIX>/results/<index>.json): what trainMember returns. */
export type GanMemberResult = TrainMemberResult;

export interface ClusterEnsemblePlan {
  record: EnsembleRecord;
  items: GanMemberItem[];
}

/**
 * The ensemble `ensembleId` as TrainEnsemble would start it (same checks, member gan ids and seeds), with no
 * service jobs: the record's job ids are empty, so GetEnsemble reports member states from their checkpoints.
 */
export async function planClusterEnsemble(
  datasets: DatasetReader,
  ensembleId: string,
  req: EnsembleRequest,
): Promise<ClusterEnsemblePlan> {
  checkEnsembleId(ensembleId);
  // Pods train one member each: the per-process concurrency is 1 whatever the request asked for.
  await checkEnsembleRequest({ datasets }, { ...req, concurrency: 1 });
  const items = Array.from({ length: req.members }, (_, i) => ({ params: memberParamsOf(ensembleId, req, i, 1) }));
  const members = items.map(({ params: p }) => ({ index: p.member, seed: p.seed, ganId: p.ganId, jobId: "" }));
  const record = ensembleRecordOf(ensembleId, req, 1, members);
  return { record, items };
}

/** One pod's work: train member item `index` (or return its result when an earlier pod finished it). */
export async function runGanMemberItem(
  deps: TrainingDeps,
  prefix: string,
  index: number,
  control: Control,
): Promise<GanMemberResult> {
  const done = await tryReadWorkResult<GanMemberResult>(deps.store, prefix, index);
  if (done) return done;
  const { params } = await readWorkItem<GanMemberItem>(deps.store, prefix, index);
  const r = await trainMember(
    {
      ...deps,
      logger: deps.logger?.child({ ensembleId: params.ensembleId }),
      provenance: { ...deps.provenance, ensembleId: params.ensembleId, member: params.member },
    },
    params,
    control,
  );
  const result: GanMemberResult = {
    ganId: r.ganId,
    checkpointId: r.checkpointId,
    checkpoint: r.checkpoint,
    kimg: r.kimg,
    resolution: r.resolution,
    swd: r.swd,
    resumedFromKimg: r.resumedFromKimg,
  };
  await putWorkResult(deps.store, prefix, index, result);
  return result;
}

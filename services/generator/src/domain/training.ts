// One generator's training run (any family, through families.ts) (a TrainGan job, an ensemble member job, or a cluster pod through member-main.ts): load the
// dataset's train slices at the GAN's resolution, resume from the latest committed checkpoint if there is one,
// train with progress reports, checkpoint (with SWD + sample grid) every N kimg.
import type { SliceSource } from "@synthmri/ml";
import { laplacianSwd } from "@synthmri/eval";
import type { ArtifactStore, JobProgress, Logger, ObjectRef, ObjectStore, Semaphore } from "@synthmri/platform";
import { silentLogger } from "@synthmri/platform";
import {
  artifactCheckpoints,
  DEFAULT_QUALITY,
  latestCheckpoint,
  type CheckpointFields,
  type QualitySettings,
} from "./checkpoints.js";
import { runTraining, tissueLabels, tissueValue, trainingChannels } from "./families.js";
import { HistoryRecorder } from "./history.js";
import { uint8ToUnit } from "./images.js";
import { type ResolvedTraining, resolveTraining, type TrainSettings } from "./params.js";
import type { DatasetReader } from "./ports.js";

export interface TrainMemberParams {
  ganId: string;
  ensembleId: string;
  member: number;
  seed: number;
  datasetId: string;
  settings: TrainSettings;
  /** Members of the same ensemble trained at once in this process. */
  concurrency: number;
}

export interface TrainingDeps {
  artifacts: ArtifactStore;
  store: ObjectStore;
  datasets: DatasetReader;
  logger?: Logger;
  provenance?: Record<string, unknown>;
  quality?: QualitySettings;
  /** Slots to hold while computing (process-wide GAN work limit, the ensemble's concurrency). */
  slots?: Semaphore[];
}

export interface Control {
  signal: AbortSignal;
  progress(update: JobProgress): void;
}

export interface TrainMemberResult {
  ganId: string;
  checkpointId: string;
  checkpoint: ObjectRef;
  kimg: number;
  resolution: number;
  swd: number | null;
  resumedFromKimg: number | null;
}

/**
 * The train split as the model's SliceSource ([-1, 1] floats made per batch from the uint8 slices), with the
 * family's extra tissue channel when it trains on one.
 */
export async function trainingSource(
  datasets: DatasetReader,
  datasetId: string,
  resolved: ResolvedTraining,
  signal?: AbortSignal,
): Promise<SliceSource> {
  const size = resolved.resolution;
  const loaded = await datasets.loadTrain(datasetId, {
    size,
    maxSlices: resolved.maxTrainSlices,
    subjectKeys: resolved.trainSubjectKeys,
    seed: 0,
    signal,
  });
  const tissue = tissueLabels(resolved, loaded);
  const channels = trainingChannels(resolved);
  const px = size * size;
  const per = px * loaded.channels;
  return {
    count: loaded.count,
    size,
    channels,
    read(indices: number[]) {
      const out = new Float32Array(indices.length * px * channels);
      indices.forEach((i, k) => {
        const unit = uint8ToUnit(loaded.data.subarray(i * per, (i + 1) * per));
        if (!tissue) {
          out.set(unit, k * per);
          return;
        }
        for (let p = 0; p < px; p++) {
          const o = (k * px + p) * channels;
          for (let c = 0; c < loaded.channels; c++) out[o + c] = unit[p * loaded.channels + c];
          out[o + channels - 1] = tissueValue(tissue[i * px + p]);
        }
      });
      return out;
    },
  };
}

export async function trainMember(
  deps: TrainingDeps,
  p: TrainMemberParams,
  control: Control,
): Promise<TrainMemberResult> {
  const log = (deps.logger ?? silentLogger).child({ ganId: p.ganId, member: p.member });
  const resolved = resolveTraining(p.settings);
  const summary = await deps.datasets.describe(p.datasetId);
  const releases: (() => void)[] = [];
  try {
    if (deps.slots?.length) {
      control.progress({ phase: "waiting", message: "waiting for a training slot" });
      for (const s of deps.slots) releases.push(await s.acquire(control.signal));
    }
    control.progress({ phase: "loading", message: `loading training slices of dataset ${p.datasetId}` });
    const data = await trainingSource(deps.datasets, p.datasetId, resolved, control.signal);
    let lastSwd: number | null = null;
    const history = new HistoryRecorder();
    const checkpoint = artifactCheckpoints({
      artifacts: deps.artifacts,
      store: deps.store,
      ganId: p.ganId,
      ensembleId: p.ensembleId,
      member: p.member,
      seed: p.seed,
      datasetId: p.datasetId,
      datasetRef: summary.manifest,
      totalImages: resolved.totalImages,
      data,
      quality: deps.quality ?? DEFAULT_QUALITY,
      provenance: { service: "generator", ...deps.provenance },
      history: (f) => history.drain(f),
      onSaved: (f: CheckpointFields) => {
        lastSwd = f.swd;
        log.info("checkpoint saved", { kimg: f.kimg, resolution: f.resolution, swd: f.swd });
      },
    });
    const q = deps.quality ?? DEFAULT_QUALITY;
    const result = await runTraining({
      resolved,
      data,
      seed: p.seed,
      checkpoint,
      signal: control.signal,
      quality: {
        fn: async (fake, real) =>
          1e3 *
          (await laplacianSwd({
            nhoodsPerImage: q.nhoodsPerImage,
            dirsPerRepeat: q.dirsPerRepeat,
            dirRepeats: q.dirRepeats,
          })(fake, real)),
        everyKimg: resolved.qualityEveryKimg,
        samples: Math.min(q.swdImages, data.count),
      },
      lastCheckpointSwd: () => lastSwd,
      progress: (u) => {
        history.record(u);
        control.progress(u);
      },
    });
    const latest = await latestCheckpoint(deps.store, deps.artifacts, p.ganId);
    if (!latest) throw new Error(`training of ${p.ganId} ended without a checkpoint`);
    log.info("training finished", { kimg: result.kimg, resumedFromKimg: result.resumedFromKimg });
    return {
      ganId: p.ganId,
      checkpointId: latest.id,
      checkpoint: latest.ref,
      kimg: latest.manifest.kimg,
      resolution: latest.manifest.resolution,
      swd: latest.manifest.swd,
      resumedFromKimg: result.resumedFromKimg,
    };
  } finally {
    for (const r of releases.reverse()) r();
  }
}

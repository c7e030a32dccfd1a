// Sampling from a GAN or an ensemble: each member's latest committed checkpoint, the count split equally
// across members (seed 000), latents from a per-member seeded stream (same seed + source = same samples),
// the mask snapped to label levels, the optional outlier filter of seed 001, provenance per sample.
import {
  defaultOutlierThreshold,
  memberSeed,
  outlierNorms,
  outlierReference,
  type OutlierReference,
  type SampleBatch,
  sampleBatchesAsync,
  splitCount,
} from "@synthmri/ml";
import {
  type ArtifactStore,
  FailedPrecondition,
  InvalidInput,
  type ObjectRef,
  type ObjectStore,
} from "@synthmri/platform";
import { type CheckpointChoice, chooseCheckpoint } from "./checkpoint-selection.js";
import { loadCheckpointModel, latestCheckpoint } from "./checkpoints.js";
import type { LoadedGenerator } from "./families.js";
import { labelMapScreen } from "./label-map-filter.js";
import { type LabelSchemeName, toFloatWithLabels, toUint8, uint8ToUnit } from "./images.js";
import type { DatasetReader } from "./ports.js";
import type { EnsembleRecord, EnsembleRegistry } from "./registry.js";

export const MAX_SAMPLE_COUNT = 1_000_000;
export const MAX_SAMPLE_BATCH = 1024;
/** Real slices used for the outlier filter's per-pixel statistics. */
export const OUTLIER_REFERENCE_SLICES = 2000;
/** A member gives up when the filter has rejected this many times its share (the threshold is too strict). */
const MAX_ATTEMPTS_FACTOR = 20;

export interface SourceSelection {
  ensembleId: string;
  /** Member indices; empty = all (or the first memberCount). */
  members?: number[];
  memberCount?: number;
  /** Which checkpoint of each member (default the latest; "best-swd": seed 001's selection). */
  checkpoint?: CheckpointChoice;
}

export interface OutlierSettings {
  enabled: boolean;
  /** 0 = 500 scaled to the resolution. */
  threshold?: number;
  referenceDatasetId?: string;
  /** Threshold = this percentile of the reference dataset's held-out real slices' norms (exclusive with threshold). */
  calibratePercentile?: number;
}

export interface SampleParams {
  source: SourceSelection;
  count: number;
  seed: number;
  batchSize?: number;
  outlier?: OutlierSettings;
  dtype: "uint8" | "float32";
  labelScheme: LabelSchemeName;
}

export interface SampleProvenance {
  ensembleId: string;
  member: number;
  ganId: string;
  checkpointKimg: number;
  /** Seed of the request (the member's latent stream is memberSeed(seed, member)). */
  seed: number;
  /** Latent index in the member's stream (before filtering): regenerates the sample. */
  index: number;
  outlierScore?: number;
}

export interface OutputBatch {
  count: number;
  size: number;
  channels: number;
  data: Uint8Array | Float32Array;
  /** Internal labels 0..3 of the mask channel. */
  labels: Uint8Array;
  provenance: SampleProvenance[];
}

export interface SampleSummary {
  delivered: number;
  rejected: number;
  threshold: number;
  /** What the outlier filter scored: the mask channel (PGAN path) or stage 1's label maps (two-stage). */
  filteredOn?: "mask" | "label-maps";
  /** With a calibrated threshold: the held-out real slices' norms it came from (the reference distribution). */
  calibration?: OutlierCalibration;
}

export interface OutlierCalibration {
  percentile: number;
  heldOutSlices: number;
  /** Quantiles 0.5 / 0.9 / 0.99 / max of the held-out real norms. */
  heldOutNorms: { p50: number; p90: number; p99: number; max: number };
  /** Share of the held-out real slices the seed's fixed threshold (500 scaled) would reject (mask filter only). */
  fixedThresholdRejectsHeldOut?: number;
}

export interface SamplingDeps {
  artifacts: ArtifactStore;
  store: ObjectStore;
  registry: EnsembleRegistry;
  datasets: DatasetReader;
}

export interface ResolvedMember {
  index: number;
  ganId: string;
  checkpointId: string;
  checkpoint: ObjectRef;
  kimg: number;
  resolution: number;
}

export interface ResolvedSource {
  record: EnsembleRecord;
  members: ResolvedMember[];
  resolution: number;
}

export function checkSampleParams(p: Pick<SampleParams, "count" | "batchSize" | "outlier">): void {
  if (!Number.isInteger(p.count) || p.count < 1 || p.count > MAX_SAMPLE_COUNT)
    throw new InvalidInput(`count ${p.count} must be 1..${MAX_SAMPLE_COUNT}`);
  if (
    p.batchSize !== undefined &&
    p.batchSize !== 0 &&
    !(Number.isInteger(p.batchSize) && p.batchSize >= 1 && p.batchSize <= MAX_SAMPLE_BATCH)
  )
    throw new InvalidInput(`batch_size ${p.batchSize} must be 1..${MAX_SAMPLE_BATCH} (0 = 16)`);
  const t = p.outlier?.threshold;
  if (t !== undefined && (!Number.isFinite(t) || t < 0)) throw new InvalidInput(`outlier threshold ${t} must be >= 0`);
  const pct = p.outlier?.calibratePercentile;
  if (pct !== undefined && pct !== 0) {
    if (!(Number.isFinite(pct) && pct > 0 && pct <= 100))
      throw new InvalidInput(`outlier calibrate_percentile ${pct} must be in (0, 100] (e.g. 99)`);
    if (t) throw new InvalidInput("give the outlier threshold or calibrate_percentile, not both (calibration sets it)");
  }
}

/** Which members, at which checkpoint. NotFound for an unknown id; FailedPrecondition before any checkpoint. */
export async function resolveSource(deps: SamplingDeps, sel: SourceSelection): Promise<ResolvedSource> {
  const record = await deps.registry.get(sel.ensembleId);
  let chosen = record.members;
  if (sel.members && sel.members.length > 0) {
    const known = new Set(record.members.map((m) => m.index));
    const bad = sel.members.filter((i) => !known.has(i));
    if (bad.length)
      throw new InvalidInput(
        `member(s) ${bad.join(", ")} not in ensemble ${record.id} (members 0..${record.members.length - 1})`,
      );
    if (new Set(sel.members).size !== sel.members.length) throw new InvalidInput("members lists an index twice");
    chosen = sel.members.map((i) => record.members.find((m) => m.index === i)!);
  } else if (sel.memberCount) {
    if (sel.memberCount > record.members.length)
      throw new InvalidInput(
        `member_count ${sel.memberCount} exceeds the ${record.members.length} members of ${record.id}`,
      );
    chosen = record.members.slice(0, sel.memberCount);
  }
  const members: ResolvedMember[] = [];
  for (const m of chosen) {
    const newest = await latestCheckpoint(deps.store, deps.artifacts, m.ganId);
    if (!newest)
      throw new FailedPrecondition(
        `member ${m.index} (${m.ganId}) of ${record.id} has no checkpoint yet; wait for its training to write one`,
      );
    const latest = await chooseCheckpoint(deps.store, deps.artifacts, m.ganId, newest, sel.checkpoint ?? "latest");
    members.push({
      index: m.index,
      ganId: m.ganId,
      checkpointId: latest.id,
      checkpoint: latest.ref,
      kimg: latest.manifest.kimg,
      resolution: latest.manifest.resolution,
    });
  }
  const resolution = members[0].resolution;
  const odd = members.find((m) => m.resolution !== resolution);
  if (odd)
    throw new FailedPrecondition(
      `member ${odd.index} is at ${odd.resolution}x${odd.resolution}, member ${members[0].index} at ${resolution}x${resolution}; ` +
        "sample once every member has grown to the same resolution, or select members",
    );
  return { record, members, resolution };
}

/** Per-pixel mask statistics of a real dataset's train split at `size` (outlier filter). */
export async function outlierReferenceFor(
  datasets: DatasetReader,
  datasetId: string,
  size: number,
  signal?: AbortSignal,
): Promise<OutlierReference> {
  const real = await datasets.loadTrain(datasetId, { size, maxSlices: OUTLIER_REFERENCE_SLICES, seed: 1, signal });
  if (real.count < 2)
    throw new FailedPrecondition(
      `dataset ${datasetId} has ${real.count} train slices; the outlier filter needs at least 2`,
    );
  return outlierReference(uint8ToUnit(real.data), real.count, size, real.channels);
}

/** Value at quantile q (0..1) of sorted values, linear between ranks. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * The outlier threshold calibrated on real data: the norms of the reference dataset's held-out (test split)
 * slices under its training slices' statistics; the threshold is their `percentile`, so about
 * (100 - percentile) % of never-seen real images would be rejected (the seed's fixed 500 rejects several % of
 * real held-out slices on the phantoms, issue 16).
 */
export async function calibrateOutlierThreshold(
  datasets: DatasetReader,
  datasetId: string,
  ref: OutlierReference,
  percentile: number,
  signal?: AbortSignal,
): Promise<{ threshold: number; calibration: OutlierCalibration }> {
  const held = await datasets.loadTrain(datasetId, {
    size: ref.size,
    maxSlices: OUTLIER_REFERENCE_SLICES,
    seed: 1,
    signal,
    split: "test",
  });
  if (held.count < 1)
    throw new FailedPrecondition(
      `dataset ${datasetId} has no held-out (test) slices to calibrate the outlier threshold on; give a threshold instead`,
    );
  const norms = Float64Array.from(outlierNorms(ref, uint8ToUnit(held.data), held.count, held.channels)).sort();
  const fixed = defaultOutlierThreshold(ref.size, ref.channels.length);
  let over = 0;
  for (const v of norms) if (v > fixed) over++;
  return {
    threshold: quantileSorted(norms, percentile / 100),
    calibration: {
      percentile,
      heldOutSlices: held.count,
      heldOutNorms: {
        p50: quantileSorted(norms, 0.5),
        p90: quantileSorted(norms, 0.9),
        p99: quantileSorted(norms, 0.99),
        max: norms[norms.length - 1],
      },
      fixedThresholdRejectsHeldOut: over / norms.length,
    },
  };
}

/**
 * Batches of samples (each at most batchSize), member after member; returns the totals. With the filter on,
 * every member keeps drawing from its latent stream until it has delivered its share.
 */
export async function* generateSamples(
  deps: SamplingDeps,
  params: SampleParams,
  options: { signal?: AbortSignal; resolved?: ResolvedSource } = {},
): AsyncGenerator<OutputBatch, SampleSummary> {
  checkSampleParams(params);
  const src = options.resolved ?? (await resolveSource(deps, params.source));
  const batchSize = params.batchSize || 16;
  let threshold = 0;
  let calibration: OutlierCalibration | undefined;
  let filteredOn: SampleSummary["filteredOn"];
  // Scores of a batch's samples when the filter is on; prepared with the first member's model, which tells
  // whether the images come from generated label maps (two-stage: filtered there, as seed 001 did).
  let screen: ((b: SampleBatch) => Float64Array) | undefined;
  const prepareScreen = async (model: LoadedGenerator) => {
    const outlier = params.outlier;
    if (!outlier?.enabled || screen) return;
    const referenceId = outlier.referenceDatasetId || src.record.datasetId;
    if (model.generatedLabelMaps) {
      const s = await labelMapScreen(
        deps.datasets,
        referenceId,
        src.resolution,
        { ...outlier, maxSlices: OUTLIER_REFERENCE_SLICES },
        options.signal,
      );
      ({ threshold, calibration } = s);
      filteredOn = "label-maps";
      screen = s.norms;
      return;
    }
    const ref = await outlierReferenceFor(deps.datasets, referenceId, src.resolution, options.signal);
    if (outlier.calibratePercentile) {
      ({ threshold, calibration } = await calibrateOutlierThreshold(
        deps.datasets,
        referenceId,
        ref,
        outlier.calibratePercentile,
        options.signal,
      ));
    } else threshold = outlier.threshold || defaultOutlierThreshold(src.resolution, ref.channels.length);
    filteredOn = "mask";
    screen = (b) => outlierNorms(ref, b.images, b.count, b.channels);
  };
  const counts = splitCount(params.count, src.members.length);
  let delivered = 0;
  let rejected = 0;
  for (let i = 0; i < src.members.length; i++) {
    const m = src.members[i];
    if (counts[i] === 0) continue;
    const model = await loadCheckpointModel(deps.artifacts, m.checkpointId);
    try {
      await prepareScreen(model);
      const want = counts[i];
      const draws = screen ? want * MAX_ATTEMPTS_FACTOR : want;
      let got = 0;
      for await (const b of sampleBatchesAsync(model, draws, memberSeed(params.seed, m.index), {
        batchSize,
        member: m.index,
        kimg: m.kimg,
      })) {
        options.signal?.throwIfAborted();
        const norms = screen?.(b);
        const keep: number[] = [];
        for (let k = 0; k < b.count && got + keep.length < want; k++) {
          if (norms && norms[k] > threshold) rejected++;
          else keep.push(k);
        }
        got += keep.length;
        if (keep.length > 0) {
          const px = b.size * b.size;
          const per = px * b.channels;
          const images = new Float32Array(keep.length * per);
          const labels = new Uint8Array(keep.length * px);
          keep.forEach((k, j) => {
            images.set(b.images.subarray(k * per, (k + 1) * per), j * per);
            labels.set(b.labels.subarray(k * px, (k + 1) * px), j * px);
          });
          delivered += keep.length;
          yield {
            count: keep.length,
            size: b.size,
            channels: b.channels,
            labels,
            data:
              params.dtype === "uint8"
                ? toUint8(images, labels, b.channels)
                : toFloatWithLabels(images, labels, b.channels, params.labelScheme),
            provenance: keep.map((k) => ({
              ensembleId: src.record.id,
              member: m.index,
              ganId: m.ganId,
              checkpointKimg: m.kimg,
              seed: params.seed,
              index: b.provenance[k].index,
              ...(norms ? { outlierScore: norms[k] } : {}),
            })),
          };
          // Let cancellation and stream back-pressure in between batches.
          await new Promise((r) => setImmediate(r));
        }
        if (got >= want) break;
      }
      if (got < want)
        throw new FailedPrecondition(
          `the outlier filter (on the ${filteredOn === "label-maps" ? "generated label maps" : "masks"}, threshold ${threshold.toFixed(1)}) rejected ${draws - got} of ${draws} samples of member ${m.index}; ` +
            "raise outlier_filter.threshold or train longer",
        );
    } finally {
      model.dispose();
    }
  }
  return {
    delivered,
    rejected,
    threshold,
    ...(filteredOn ? { filteredOn } : {}),
    ...(calibration ? { calibration } : {}),
  };
}

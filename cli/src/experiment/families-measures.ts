// What the `families` report measures of one family's experiment beyond Dice, while its services still run:
// image quality (Laplacian SWD, random-conv Fréchet distance) of the synthetic set against the real training
// slices, seed 004's memorization study at two training-set sizes (the ensemble on all training subjects, the 20 %
// control GAN on its subset: each synthetic image's max correlation to the slices its generator trained on,
// against the same for the real held-out slices), and the sampling time per image through the Sample stream.
// Real slices are streamed resized to the generators' side (ingest's box/nearest resize), so synthetic and real
// images are compared at one size whatever the slice size the U-Nets use.
import { DataType, Split } from "@synthmri/contracts";
import {
  compareToHeldOut,
  featureFrechetDistanceAsync,
  type ImageSet,
  MaxCorrelationAccumulator,
  type MemorizationComparison,
  slicedWassersteinDistanceAsync,
} from "@synthmri/eval";
import { initBackend } from "@synthmri/ml";
import { receiveTensors } from "@synthmri/rpc";
import type { ServiceClients } from "./clients.js";
import { CONTROL_CONDITION, planControlGans } from "./plan.js";
import type { ExperimentResult } from "./run-experiment.js";
import type { ExperimentSpec } from "./spec.js";

/** The MR channels (T1, T1CE, T2, FLAIR): the mask channel is not an image a copy shows in. */
export const MR_CHANNELS = [0, 1, 2, 3] as const;
/** Images per set for SWD and the Fréchet distance (seconds on a CPU at 16-64 px). */
const QUALITY_IMAGES = 480;
/** Samples timed through the Sample stream (after one warm-up batch that loads the checkpoints). */
const TIMED_SAMPLES = 64;

export interface MemorizationArmResult {
  /** "full" (the ensemble, all training subjects) or "20 %" (the control GAN's subset). */
  size: string;
  trainingSubjects: number;
  trainingSlices: number;
  synthetic: number[];
  heldOut: number[];
  comparison: MemorizationComparison;
}

export interface FamilyMeasures {
  /** Side of the synthetic images (and of the real slices they were compared with). */
  resolution: number;
  swd: number;
  frechet: number;
  /** False when the sets are too small for a trustworthy covariance (the value is still reported). */
  frechetSufficient: boolean;
  memorization: MemorizationArmResult[];
  msPerImage: number;
  /** Seed 001's outlier filter on the synthetic set, from its provenance; undefined when the filter was off. */
  outlier?: OutlierOutcome;
  /** Measures that could not be taken, with the reason. */
  errors: string[];
}

export interface OutlierOutcome {
  /** What the filter scored: "mask" (the PGAN path) or "label-maps" (two-stage: stage 1's maps, before stage 2). */
  filteredOn: string;
  delivered: number;
  rejected: number;
  threshold: number;
}

/** The outlier filter's outcome recorded in a synthetic dataset's provenance (none when it was off). */
export async function outlierOutcome(clients: ServiceClients, datasetId: string): Promise<OutlierOutcome | undefined> {
  const params = (await clients.ingest.getDataset({ datasetId })).dataset?.provenance?.params ?? {};
  if (!params.outlierFilteredOn) return undefined;
  return {
    filteredOn: params.outlierFilteredOn,
    delivered: Number(params.delivered),
    rejected: Number(params.rejected),
    threshold: Number(params.outlierThreshold),
  };
}

interface ReadOptions {
  split: Split;
  resize?: number;
  subjectKeys?: string[];
  maxSlices?: number;
}

/** All slices of a dataset (split, subjects, size) as one NHWC uint8 image set. */
export async function readImageSet(clients: ServiceClients, datasetId: string, o: ReadOptions): Promise<ImageSet> {
  const chunks: Uint8Array[] = [];
  let shape: number[] = [];
  for await (const t of receiveTensors(
    clients.ingest.streamSlices({
      datasetId,
      split: o.split,
      batchSize: 64,
      maxSlices: o.maxSlices ?? 0,
      subjectKeys: o.subjectKeys ?? [],
      resize: o.resize ?? 0,
      dtype: DataType.UINT8,
    }),
    (r) => r.frame,
  )) {
    chunks.push(new Uint8Array(t.bytes));
    shape = t.shape;
  }
  const [, h = 0, w = 0, c = 0] = shape;
  const data = Buffer.concat(chunks);
  const n = Math.floor(data.length / (h * w * c || 1));
  return { data: new Uint8Array(data.buffer, data.byteOffset, n * h * w * c), n, h, w, c };
}

function firstN(set: ImageSet, n: number): ImageSet {
  const k = Math.min(n, set.n);
  return { ...set, n: k, data: set.data.subarray(0, k * set.h * set.w * set.c) };
}

/** Wall milliseconds per image of the ensemble's Sample stream (a warm-up batch first). */
async function samplingMsPerImage(clients: ServiceClients, ensembleId: string, seed: number): Promise<number> {
  const drain = async (count: number) => {
    for await (const _ of clients.generator.sample({ source: { ensembleId }, count, seed, batchSize: 16 })) {
      // Only the time to receive every sample matters.
    }
  };
  await drain(16);
  const t0 = performance.now();
  await drain(TIMED_SAMPLES);
  return (performance.now() - t0) / TIMED_SAMPLES;
}

/**
 * One arm: per-image max correlation of synthetic and held-out images to the generator's training slices. Paced
 * (as the SWD): over thousands of slices this is minutes of work, and this process keeps gRPC connections to the
 * services open, whose keepalive pings must be answered (see @synthmri/core's steps.ts).
 */
async function memorizationArm(size: string, subjects: number, train: ImageSet, syn: ImageSet, heldOut: ImageSet) {
  const synthetic = (await new MaxCorrelationAccumulator(train, MR_CHANNELS).addAsync(syn)).values;
  const held = (await new MaxCorrelationAccumulator(train, MR_CHANNELS).addAsync(heldOut)).values;
  return {
    size,
    trainingSubjects: subjects,
    trainingSlices: train.n,
    synthetic,
    heldOut: held,
    comparison: compareToHeldOut(synthetic, held),
  };
}

export async function measureFamily(
  clients: ServiceClients,
  spec: ExperimentSpec,
  result: ExperimentResult,
): Promise<FamilyMeasures> {
  // The distances below run tensors in this process: on the product's backend, not tfjs' stock cpu fallback.
  await initBackend();
  const errors: string[] = [];
  const k = Math.max(...spec.synthetic.ensembleSizes);
  const synId = result.synthetic[`synthetic-${k}`]?.[0];
  if (!synId) throw new Error(`no synthetic-${k} dataset in the experiment's result`);
  const syn = await readImageSet(clients, synId, { split: Split.ALL });
  const resolution = syn.h;
  const ds = (await clients.ingest.getDataset({ datasetId: result.datasetId, includeSubjects: true })).dataset;
  const trainKeys = (ds?.subjects ?? []).filter((s) => s.split === Split.TRAIN).map((s) => s.key);
  const real = { split: Split.TRAIN, resize: resolution };
  const train = await readImageSet(clients, result.datasetId, real);
  const heldOut = await readImageSet(clients, result.datasetId, { ...real, split: Split.TEST });

  const side = Math.min(resolution, syn.w);
  const swd = (
    await slicedWassersteinDistanceAsync(firstN(syn, QUALITY_IMAGES), firstN(train, QUALITY_IMAGES), {
      nhoodsPerImage: 32,
      dirRepeats: 2,
      dirsPerRepeat: 64,
      nhoodSize: Math.min(7, side % 2 === 0 ? side - 1 : side),
      minSide: Math.min(16, side),
      seed: spec.seed,
    })
  ).meanAll;
  let frechet = Number.NaN;
  let frechetSufficient = false;
  try {
    const fd = await featureFrechetDistanceAsync(firstN(syn, QUALITY_IMAGES), firstN(train, QUALITY_IMAGES));
    frechet = fd.distance;
    frechetSufficient = fd.sufficient;
  } catch (e) {
    errors.push(`Fréchet distance: ${(e as Error).message}`);
  }

  const memorization: MemorizationArmResult[] = [await memorizationArm("full", trainKeys.length, train, syn, heldOut)];
  const smallId = result.synthetic[CONTROL_CONDITION["mode-dropping"]]?.[0];
  const subset = planControlGans(spec, trainKeys).find((p) => p.gan === "mode-dropping");
  if (smallId && subset) {
    const small = await readImageSet(clients, smallId, { split: Split.ALL });
    const subsetTrain = await readImageSet(clients, result.datasetId, { ...real, subjectKeys: subset.subjectKeys });
    const pct = Math.round(spec.controls.modeDroppingFraction * 100);
    memorization.push(await memorizationArm(`${pct} %`, subset.subjectKeys.length, subsetTrain, small, heldOut));
  } else errors.push("memorization at the small training set: no control GAN (controls.modeDroppingFraction is 0)");

  let msPerImage = Number.NaN;
  try {
    msPerImage = await samplingMsPerImage(clients, result.ensembleId, spec.seed);
  } catch (e) {
    errors.push(`sampling time: ${(e as Error).message}`);
  }
  let outlier: OutlierOutcome | undefined;
  try {
    outlier = await outlierOutcome(clients, synId);
  } catch (e) {
    errors.push(`outlier filter outcome: ${(e as Error).message}`);
  }
  return {
    resolution,
    swd,
    frechet,
    frechetSufficient,
    memorization,
    msPerImage,
    ...(outlier ? { outlier } : {}),
    errors,
  };
}

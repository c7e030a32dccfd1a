// Training sets from dataset artifacts: each source's split is read (resized to the net's side), kept as
// uint8 slices in memory and turned into float samples on demand; 20 % of each source's subjects are held
// out for validation (seeded); "equal" mixtures keep one pool per source so the sampler draws every
// source equally often (seed 000's real + synthetic), "concat" makes one pool (each slice equally likely).
import { concatSegSources, holdOut, type SegSample, type SegSliceSource, type TrainData } from "@synthmri/ml";
import { maskLut, NOT_A_MASK_VALUE, SEED000_MASK_VALUES } from "@synthmri/core";
import { FailedPrecondition, InvalidInput } from "@synthmri/platform";
import type { DatasetFields, DatasetPreprocessing } from "@synthmri/volume";
import type { DatasetReader } from "./ports.js";
import type { Mixture, TrainingSourceSpec } from "./types.js";

/** One source's slices as uint8 NHWC (4 images + mask), with the subject of each slice. */
export class Uint8SliceSource implements SegSliceSource {
  constructor(
    private readonly data: Uint8Array,
    private readonly size: number,
    private readonly subjects: string[],
    private readonly lut: Uint8Array,
    readonly name: string,
  ) {}

  get length(): number {
    return this.subjects.length;
  }

  get(i: number): SegSample {
    const n = this.size * this.size;
    const base = i * n * 5;
    const image = new Float32Array(n * 4);
    const label = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      const o = base + p * 5;
      image[p * 4] = this.data[o];
      image[p * 4 + 1] = this.data[o + 1];
      image[p * 4 + 2] = this.data[o + 2];
      image[p * 4 + 3] = this.data[o + 3];
      const l = this.lut[this.data[o + 4]];
      if (l === NOT_A_MASK_VALUE)
        throw new InvalidInput(
          `dataset ${this.name}: mask value ${this.data[o + 4]} is not a label value (0, NCR, ED, ET mask values)`,
        );
      label[p] = l;
    }
    return { height: this.size, width: this.size, channels: 4, image, label };
  }

  groupOf(i: number): string {
    return this.subjects[i];
  }
}

export interface LoadedSource {
  spec: TrainingSourceSpec;
  manifest: DatasetFields & { id: string };
  source: Uint8SliceSource;
}

export async function loadSource(
  datasets: DatasetReader,
  spec: TrainingSourceSpec,
  inputSize: number,
  signal?: AbortSignal,
): Promise<LoadedSource> {
  const manifest = { ...(await datasets.manifest(spec.datasetId)), id: spec.datasetId };
  const [h, w, c] = manifest.sliceShape;
  if (c !== 5 || h !== w)
    throw new InvalidInput(
      `dataset ${spec.datasetId}: slices are ${h}x${w}x${c}; training needs square 5-channel slices (4 sequences + mask)`,
    );
  const parts: Uint8Array[] = [];
  const subjects: string[] = [];
  for await (const b of datasets.slices(spec.datasetId, manifest, {
    split: spec.split,
    batchSize: 256,
    maxSlices: spec.maxSlices || undefined,
    channels: ["t1", "t1ce", "t2", "flair", "mask"],
    resize: inputSize === h ? undefined : inputSize,
    signal,
  })) {
    parts.push(b.data.slice());
    subjects.push(...b.subject);
  }
  if (!subjects.length)
    throw new FailedPrecondition(
      `dataset ${spec.datasetId} has no ${spec.split} slices; pick the other split or another dataset`,
    );
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const lut = maskLut(manifest.maskValues ?? SEED000_MASK_VALUES);
  return { spec, manifest, source: new Uint8SliceSource(data, inputSize, subjects, lut, spec.datasetId) };
}

export interface TrainingSet {
  data: TrainData;
  sources: LoadedSource[];
  /** training / validation slices per source */
  counts: { datasetId: string; train: number; validation: number }[];
  /** the first real dataset's preprocessing (how raw volumes must be prepared at inference) */
  preprocessing: DatasetPreprocessing | null;
  datasetSize: number;
}

/** Holds out `fraction` of each source's subjects (seeded) and arranges the pools for the mixture. */
export function arrangeTrainingSet(
  loaded: LoadedSource[],
  mixture: Mixture,
  fraction: number,
  seed: number,
): Omit<TrainingSet, "preprocessing" | "datasetSize"> {
  const parts = loaded.map((l) => ({ l, ...holdOut(l.source, fraction, seed) }));
  const pools = parts.map((p) => p.train);
  return {
    data: {
      train: mixture === "concat" ? [concatSegSources(pools)] : pools,
      validation: concatSegSources(parts.map((p) => p.validation)),
    },
    sources: loaded,
    counts: parts.map((p) => ({
      datasetId: p.l.spec.datasetId,
      train: p.train.length,
      validation: p.validation.length,
    })),
  };
}

export async function loadTrainingSet(
  datasets: DatasetReader,
  specs: TrainingSourceSpec[],
  options: { mixture: Mixture; validationFraction: number; seed: number; inputSize: number; signal?: AbortSignal },
): Promise<TrainingSet> {
  const loaded: LoadedSource[] = [];
  for (const spec of specs) loaded.push(await loadSource(datasets, spec, options.inputSize, options.signal));
  const real = loaded.find((l) => l.manifest.preprocessing);
  return {
    ...arrangeTrainingSet(loaded, options.mixture, options.validationFraction, options.seed),
    preprocessing: real?.manifest.preprocessing ?? null,
    datasetSize: (real ?? loaded[0]).manifest.sliceShape[0],
  };
}

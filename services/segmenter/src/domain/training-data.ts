// Training sets from dataset artifacts: each source's split is read (resized to the net's side), kept as
// uint8 slices in memory and turned into float samples on demand; 20 % of each source is held out for
// validation (seeded; real sources by subject, synthetic ones by image); "equal" mixtures keep one pool per source so the sampler draws every
// source equally often (seed 000's real + synthetic), "concat" makes one pool (each slice equally likely).
import {
  concatSegSources,
  type HoldOutUnit,
  holdOut,
  type SegSample,
  type SegSliceSource,
  subsetSegSource,
  type TrainData,
} from "@synthmri/ml";
import { maskLut, NOT_A_MASK_VALUE, SEED000_MASK_VALUES } from "@synthmri/core";
import { FailedPrecondition, InvalidInput } from "@synthmri/platform";
import type { DatasetFields, DatasetPreprocessing } from "@synthmri/volume";
import type { DatasetReader } from "./ports.js";
import type { Mixture, TrainingSourceSpec, ValidationScheme } from "./types.js";

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

export type { ValidationScheme };

/** How one source is split: synthetic sets by image (their groups are GAN members), real sets by subject. */
export function holdOutUnit(l: LoadedSource): HoldOutUnit {
  return l.manifest.origin === "synthetic" ? "image" : "group";
}

/** Holds out `fraction` of each source (seeded, see `ValidationScheme`) and arranges the pools for the mixture. */
export function arrangeTrainingSet(
  loaded: LoadedSource[],
  mixture: Mixture,
  fraction: number,
  seed: number,
  options: { validation?: ValidationScheme; validationOnly?: LoadedSource[] } = {},
): Omit<TrainingSet, "preprocessing" | "datasetSize"> {
  const scheme = options.validation ?? "per-source";
  const split = (l: LoadedSource) => holdOut(l.source, fraction, seed, { by: holdOutUnit(l) });
  const parts = loaded.map((l) => {
    if (scheme === "real-subjects" && holdOutUnit(l) === "image")
      return { l, train: l.source as SegSliceSource, validation: subsetSegSource(l.source, []) };
    return { l, ...split(l) };
  });
  const extra = (options.validationOnly ?? []).map((l) => {
    if (holdOutUnit(l) !== "group")
      throw new InvalidInput(`validation-only dataset ${l.spec.datasetId} is synthetic; validate on real subjects`);
    return split(l).validation;
  });
  const validation = concatSegSources([...parts.map((p) => p.validation), ...extra]);
  if (scheme === "real-subjects" && validation.length === 0)
    throw new InvalidInput(
      "validation on real subjects needs a real training source or a real validation-only dataset; none was given",
    );
  const pools = parts.map((p) => p.train);
  return {
    data: {
      train: mixture === "concat" ? [concatSegSources(pools)] : pools,
      validation,
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
  options: {
    mixture: Mixture;
    validationFraction: number;
    seed: number;
    inputSize: number;
    /** default "per-source" */
    validation?: ValidationScheme;
    /** real datasets read only for their held-out validation subjects ("real-subjects" without a real source) */
    validationSources?: TrainingSourceSpec[];
    signal?: AbortSignal;
  },
): Promise<TrainingSet> {
  const loaded: LoadedSource[] = [];
  for (const spec of specs) loaded.push(await loadSource(datasets, spec, options.inputSize, options.signal));
  const validationOnly: LoadedSource[] = [];
  for (const spec of options.validationSources ?? [])
    validationOnly.push(await loadSource(datasets, spec, options.inputSize, options.signal));
  const real = loaded.find((l) => l.manifest.preprocessing);
  return {
    ...arrangeTrainingSet(loaded, options.mixture, options.validationFraction, options.seed, {
      validation: options.validation,
      validationOnly,
    }),
    preprocessing: real?.manifest.preprocessing ?? null,
    datasetSize: (real ?? loaded[0]).manifest.sliceShape[0],
  };
}

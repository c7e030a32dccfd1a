// Where training slices come from. The segmenter service adapts dataset manifests to these interfaces; this
// package never touches storage. Samples are host arrays (SegSample: HWC float32 image + uint8 labels).
import { InvalidInput } from "@synthmri/core";
import { Rng } from "../random/index.js";
import type { SegSample } from "../transforms/types.js";

/** A random-access collection of slices (one dataset, or a view of one). */
export interface SegSliceSource {
  readonly length: number;
  get(index: number): SegSample | Promise<SegSample>;
  /** Optional grouping key (e.g. subject id) so that a hold-out split keeps a subject's slices together. */
  groupOf?(index: number): string;
  /**
   * Optional: whether slice `index` has any non-background label. Foreground oversampling needs it; without
   * it the trainer reads every slice once at the start to find out.
   */
  hasForeground?(index: number): boolean;
}

export interface TrainData {
  /**
   * Training pools, drawn equally often whatever their sizes (seed 000: real + synthetic "sampled equally
   * often"). One pool for real-only or synthetic-only training.
   */
  train: SegSliceSource[];
  /** Held-out slices for validation Dice (see `holdOut`); may be empty. */
  validation: SegSliceSource;
}

/** A view of `source` restricted to `indices`. */
export function subsetSegSource(source: SegSliceSource, indices: number[]): SegSliceSource {
  return {
    length: indices.length,
    get: (i) => source.get(indices[i]),
    groupOf: source.groupOf ? (i) => source.groupOf!(indices[i]) : undefined,
    hasForeground: source.hasForeground ? (i) => source.hasForeground!(indices[i]) : undefined,
  };
}

/** Several sources back to back. */
export function concatSegSources(sources: SegSliceSource[]): SegSliceSource {
  const starts: number[] = [];
  let total = 0;
  for (const s of sources) {
    starts.push(total);
    total += s.length;
  }
  const locate = (i: number): [SegSliceSource, number] => {
    if (i < 0 || i >= total) throw new InvalidInput(`slice index ${i} outside 0..${total - 1}`);
    let k = sources.length - 1;
    while (starts[k] > i) k--;
    return [sources[k], i - starts[k]];
  };
  return {
    length: total,
    get: (i) => {
      const [s, j] = locate(i);
      return s.get(j);
    },
    groupOf: (i) => {
      const [s, j] = locate(i);
      return `${starts[sources.indexOf(s)]}:${s.groupOf ? s.groupOf(j) : String(j)}`;
    },
    hasForeground: sources.every((s) => s.hasForeground)
      ? (i) => {
          const [s, j] = locate(i);
          return s.hasForeground!(j);
        }
      : undefined,
  };
}

/** What `holdOut` draws: whole groups (subjects) or single images. */
export type HoldOutUnit = "group" | "image";

/**
 * Seeded split: `fraction` (seed 000: 20 %) of the units go to validation. `by: "group"` (default) draws
 * whole groups (subjects when `groupOf` exists, else single slices): slices of one real subject are highly
 * correlated, so splitting by subject is what makes the validation Dice honest. `by: "image"` draws single
 * slices whatever their group: synthetic sets, whose "subject" is the GAN member that made a slice (a 1-GAN
 * set would otherwise have one group and no validation at all); seed 000 holds out 20 % of the training
 * images. The service calls this once per training pool and concatenates the validation parts.
 */
export function holdOut(
  source: SegSliceSource,
  fraction = 0.2,
  seed = 0,
  options: { by?: HoldOutUnit } = {},
): { train: SegSliceSource; validation: SegSliceSource } {
  if (!(fraction >= 0 && fraction < 1))
    throw new InvalidInput(`validation fraction must be in [0, 1), got ${fraction}`);
  const byImage = options.by === "image";
  const groups = new Map<string, number[]>();
  for (let i = 0; i < source.length; i++) {
    const g = !byImage && source.groupOf ? source.groupOf(i) : String(i);
    const list = groups.get(g);
    if (list) list.push(i);
    else groups.set(g, [i]);
  }
  const keys = [...groups.keys()].sort();
  new Rng(seed).shuffle(keys);
  const nVal = Math.round(keys.length * fraction);
  const val = keys.slice(0, nVal).flatMap((k) => groups.get(k)!);
  const train = keys.slice(nVal).flatMap((k) => groups.get(k)!);
  if (!train.length)
    throw new InvalidInput(
      `holding out ${fraction * 100}% of ${keys.length} ${byImage ? "images" : "groups"} leaves no training data`,
    );
  return {
    train: subsetSegSource(
      source,
      train.sort((a, b) => a - b),
    ),
    validation: subsetSegSource(
      source,
      val.sort((a, b) => a - b),
    ),
  };
}

/** In-memory source, for tests and small cohorts. */
export function arraySegSource(samples: SegSample[], groupOf?: (i: number) => string): SegSliceSource {
  return {
    length: samples.length,
    get: (i) => samples[i],
    groupOf,
    hasForeground: (i) => labelsHaveForeground(samples[i].label),
  };
}

export function labelsHaveForeground(label: Uint8Array): boolean {
  for (let i = 0; i < label.length; i++) if (label[i] !== 0) return true;
  return false;
}

/** Per pool, the ascending indices of slices with foreground (from `hasForeground`, else by reading each slice). */
export async function foregroundIndices(source: SegSliceSource): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < source.length; i++) {
    const fg = source.hasForeground ? source.hasForeground(i) : labelsHaveForeground((await source.get(i)).label);
    if (fg) out.push(i);
  }
  return out;
}

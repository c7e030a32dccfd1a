// Import parameters as plain JSON: what a job stores (and gets back after a restart), decoded from the
// request by the handler and validated here.
import { InvalidInput } from "@synthmri/platform";
import {
  type LabelScheme,
  type LayoutName,
  resolveSliceParams,
  SEED000_TEST_FRACTION,
  type SequenceName,
  type SliceParams,
  splitSeedText,
} from "@synthmri/volume";

export type ImportSourceSpec =
  | { kind: "local"; path: string }
  | { kind: "s3"; bucket: string; prefix: string }
  | { kind: "upload"; sessionId: string };

export interface ImportParams {
  /** decided when the job starts, so a resumed job overwrites its own partial files */
  datasetId: string;
  source: ImportSourceSpec;
  layout: LayoutName | "auto";
  manifestPath?: string;
  /** undefined = the layout's default */
  labelScheme?: LabelScheme;
  onError: "fail" | "skip";
  name: string;
  split: { seed: number; testCount: number; testFraction: number };
  preprocessing: {
    /** final square side; 0 = the padded size of the first subject (256 for BraTS) */
    size: number;
    foregroundThreshold: number;
    minForegroundFraction: number;
    foregroundChannel: SequenceName | "max";
    /** 0 = ~16 MiB shards */
    shardSlices: number;
  };
  keepIdentityMapping: boolean;
  maxSubjects: number;
  labels: Record<string, string>;
}

export const DEFAULT_PREPROCESSING: ImportParams["preprocessing"] = {
  size: 0,
  foregroundThreshold: 50,
  minForegroundFraction: 0.15,
  foregroundChannel: "t1",
  shardSlices: 0,
};

export function checkImportParams(p: ImportParams): void {
  const pp = p.preprocessing;
  if (!Number.isInteger(pp.size) || pp.size < 0 || pp.size > 1024 || (pp.size > 0 && pp.size < 8)) {
    throw new InvalidInput(`preprocessing.size ${pp.size} must be 0 (seed 000: pad to 256) or 8-1024`);
  }
  if (!(pp.foregroundThreshold >= 0 && pp.foregroundThreshold < 255)) {
    throw new InvalidInput(`preprocessing.foreground_threshold ${pp.foregroundThreshold} must be in [0, 255)`);
  }
  if (!(pp.minForegroundFraction >= 0 && pp.minForegroundFraction <= 1)) {
    throw new InvalidInput(`preprocessing.min_foreground_fraction ${pp.minForegroundFraction} must be in [0, 1]`);
  }
  if (!(p.split.testFraction >= 0 && p.split.testFraction < 1)) {
    throw new InvalidInput(`split.test_fraction ${p.split.testFraction} must be in [0, 1)`);
  }
  if (p.layout === "manifest" && !p.manifestPath) {
    throw new InvalidInput("layout manifest needs manifest_path (a CSV or JSON file relative to the source)");
  }
  if (p.name.length > 200) throw new InvalidInput("dataset name is longer than 200 characters");
}

/** Seed-000 slice parameters with the request's overrides (the final resize happens after slicing). */
export function sliceParamsOf(p: ImportParams): SliceParams {
  return resolveSliceParams({
    intensityThreshold: p.preprocessing.foregroundThreshold,
    minFraction: p.preprocessing.minForegroundFraction,
    thresholdChannel: p.preprocessing.foregroundChannel,
  });
}

/** Split seeds print as three digits, so seed 0 is seed 000's "000". */
export function splitSeedOf(seed: number): string {
  return splitSeedText(seed);
}

/** test_count wins over test_fraction; default 56/369 (seed 000). */
export function testFractionOf(split: ImportParams["split"], subjects: number): number {
  if (split.testCount > 0) {
    if (split.testCount >= subjects) {
      throw new InvalidInput(
        `split.test_count ${split.testCount} leaves no training subject out of ${subjects}; use fewer test subjects`,
      );
    }
    return split.testCount / subjects;
  }
  return split.testFraction > 0 ? split.testFraction : SEED000_TEST_FRACTION;
}

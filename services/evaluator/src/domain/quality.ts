// QualityReport: synthetic vs real images. Sliced Wasserstein distance on a Laplacian pyramid (PGAN's measure),
// jointly and per channel, plus the Fréchet distance of a small FIXED random-conv network's features. That
// feature distance is FID-like, NOT Inception FID: compare its values only between sets scored by the same
// network version (it is recorded in the report). Both run on a seeded subsample so a report takes seconds.
import { InvalidInput, type ArtifactStore, type ObjectRef } from "@synthmri/platform";
import {
  featureFrechetDistanceAsync,
  type ImageSet,
  sampleGrid,
  type SwdOptions,
  slicedWassersteinDistanceAsync,
} from "@synthmri/eval";
import type { RunControl } from "./evaluate.js";
import { collectImages } from "./collect.js";
import type { SliceSource, SplitName } from "./ports.js";
import { type StoredReport, writeReport } from "./report-store.js";
import { jsonWithNull } from "./evaluation-store.js";

export const CHANNEL_NAMES = ["t1", "t1ce", "t2", "flair", "mask"] as const;

export interface QualityParams {
  reportId: string;
  syntheticDatasetId: string;
  realDatasetId: string;
  realSplit: SplitName;
  /** Images of each set (0 = the server default). */
  maxSamples: number;
  seed: number;
}

export interface QualitySettings {
  /** Images per set when the request says 0 (default 16: seconds on CPU at 256x256). */
  defaultMaxSamples: number;
  /** SWD effort (defaults reduced from PGAN's 128 neighbourhoods and 4x128 directions). */
  swd: Omit<SwdOptions, "seed">;
  /** Skip the feature distance (it needs a tfjs backend). */
  featureDistance: boolean;
}

export const DEFAULT_QUALITY_SETTINGS: QualitySettings = {
  defaultMaxSamples: 16,
  swd: { nhoodsPerImage: 32, dirRepeats: 2, dirsPerRepeat: 64 },
  featureDistance: true,
};

function grid(set: ImageSet, count: number): Buffer {
  const n = Math.min(count, set.n);
  const per = set.h * set.w * set.c;
  return sampleGrid({ ...set, n, data: set.data.subarray(0, n * per) }, { columns: 2 });
}

export async function runQuality(
  deps: {
    source: SliceSource;
    artifacts: ArtifactStore;
    settings?: QualitySettings;
    provenance?: Record<string, unknown>;
  },
  p: QualityParams,
  control: RunControl = {},
): Promise<StoredReport> {
  const settings = deps.settings ?? DEFAULT_QUALITY_SETTINGS;
  const progress = control.progress ?? (() => {});
  if (!p.syntheticDatasetId || !p.realDatasetId)
    throw new InvalidInput("synthetic_dataset_id and real_dataset_id are both required");
  const max = p.maxSamples || settings.defaultMaxSamples;
  const [syn, real] = await Promise.all([
    deps.source.describe(p.syntheticDatasetId, { signal: control.signal }),
    deps.source.describe(p.realDatasetId, { signal: control.signal }),
  ]);
  progress({ fraction: 0.05, phase: "load", message: `reading up to ${max} images of each set` });
  // Synthetic datasets have no subject split: read all of their slices.
  const common = { shuffle: true, seed: p.seed, maxSlices: max, signal: control.signal };
  const a = await collectImages(deps.source, syn.id, "quality report (synthetic)", { ...common, split: "all" });
  const b = await collectImages(deps.source, real.id, "quality report (real)", { ...common, split: p.realSplit });
  if (a.h !== b.h || a.w !== b.w || a.c !== b.c)
    throw new InvalidInput(
      `quality report: synthetic images are ${a.h}x${a.w}x${a.c} but real ones ${b.h}x${b.w}x${b.c}; compare datasets of the same slice size`,
    );
  progress({ fraction: 0.2, phase: "swd", message: `SWD on ${a.n} vs ${b.n} images` });
  const swd = await slicedWassersteinDistanceAsync(a, b, { ...settings.swd, seed: p.seed }, { signal: control.signal });
  progress({ fraction: 0.6, phase: "feature-distance", message: "feature distance" });
  const feature = settings.featureDistance && a.n >= 2 && b.n >= 2 ? await featureFrechetDistanceAsync(a, b) : null;

  const names = Array.from({ length: a.c }, (_, i) => CHANNEL_NAMES[i] ?? `c${i}`);
  const summary: Record<string, number> = { swd_all: swd.meanAll, n_synthetic: a.n, n_real: b.n };
  names.forEach((n, i) => {
    summary[`swd_${n}`] = swd.meanPerChannel[i];
  });
  if (feature) summary.feature_distance = feature.distance;
  const json = {
    schema: "synthmri.quality/v1",
    synthetic_dataset: syn.id,
    real_dataset: real.id,
    real_split: p.realSplit,
    seed: p.seed,
    n_synthetic: a.n,
    n_real: b.n,
    channels: names,
    swd: {
      mean_all: swd.meanAll,
      mean_per_channel: Object.fromEntries(names.map((n, i) => [n, swd.meanPerChannel[i]])),
      levels: swd.levels,
      descriptors_per_level: swd.descriptors,
      params: swd.params,
    },
    feature_distance: feature
      ? { ...feature, note: "Fréchet distance of a fixed random-conv net's features; not Inception FID" }
      : null,
  };
  const md = [
    "# Image quality: synthetic vs real",
    "",
    `Synthetic dataset ${syn.id} (${a.n} images) vs real dataset ${real.id}, ${p.realSplit} split (${b.n} images), seed ${p.seed}.`,
    "",
    `| Measure | All | ${names.join(" | ")} |`,
    `|---|---|${names.map(() => "---").join("|")}|`,
    `| SWD (Laplacian pyramid, mean over levels) | ${swd.meanAll.toFixed(4)} | ${swd.meanPerChannel.map((v) => v.toFixed(4)).join(" | ")} |`,
    "",
    feature
      ? `Feature distance: ${feature.distance.toFixed(4)} (${feature.network}; FID-like, NOT Inception FID: compare only with reports of the same network).`
      : "Feature distance: not computed.",
    "",
    "Lower is closer. SWD descriptors are 7x7 neighbourhoods normalised per set, level and channel (PGAN, appendix D).",
    "",
    "![synthetic samples](samples_synthetic.png) ![real samples](samples_real.png)",
    "",
  ].join("\n");
  progress({ fraction: 0.9, phase: "store", message: "writing report" });
  const inputs = [syn.manifest, real.manifest].filter((r): r is ObjectRef => r !== undefined);
  return writeReport(
    deps.artifacts,
    p.reportId,
    { kind: "quality", summary, outputDir: "" },
    {
      "report.md": md,
      "report.json": jsonWithNull(json),
      "samples_synthetic.png": grid(a, 4),
      "samples_real.png": grid(b, 4),
    },
    inputs,
    { ...p, reportId: undefined, maxSamples: max, settings },
    deps.provenance,
  );
}

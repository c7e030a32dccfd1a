// MemorizationReport (seed 004): for every synthetic sample, per channel, the highest normalized
// cross-correlation and the smallest L2 distance to any real TRAINING slice; samples at or over the NCC
// threshold are flagged as near-copies. The check is @synthmri/eval's MemorizationGate, the same one the generator's
// partner flow certifies exported datasets with (services/generator/src/partner/domain/screen.ts).
import { InvalidInput, type ArtifactStore, type ObjectRef } from "@synthmri/platform";
import {
  calibrateMemorizationGateAsync,
  DEFAULT_NCC_THRESHOLD,
  type ImageSet,
  MemorizationGate,
  type MemorizationCalibration,
  memorizationReportAsync,
  referenceDistribution,
  sampleGrid,
  toCsv,
} from "@synthmri/eval";
import type { RunControl } from "./evaluate.js";
import { collectImages } from "./collect.js";
import { jsonWithNull } from "./evaluation-store.js";
import type { SliceSource } from "./ports.js";
import { CHANNEL_NAMES } from "./quality.js";
import { type StoredReport, writeReport } from "./report-store.js";

export interface MemorizationParams {
  reportId: string;
  syntheticDatasetId: string;
  realDatasetId: string;
  /** 0 = DEFAULT_NCC_THRESHOLD. */
  nccThreshold: number;
  /** Channel indices (0 T1, 1 T1CE, 2 T2, 3 FLAIR, 4 mask); empty = all. */
  channels: number[];
  /** Synthetic samples used (0 = all). */
  maxSamples: number;
  /**
   * > 0: the threshold is this percentile of the max NCC of the real dataset's held-out (test) slices to its
   * training slices (calibrateMemorizationGate), instead of nccThreshold.
   */
  calibratePercentile?: number;
}

/** How many flagged pairs the figure shows. */
const FIGURE_PAIRS = 6;

/** Synthetic sample next to its nearest real slice, for each of the first flagged samples. */
function pairsFigure(syn: ImageSet, real: ImageSet, pairs: { s: number; r: number }[]): Buffer {
  const per = syn.h * syn.w * syn.c;
  const data = new Uint8Array(pairs.length * 2 * per);
  pairs.forEach(({ s, r }, i) => {
    data.set(syn.data.subarray(s * per, (s + 1) * per) as Uint8Array, 2 * i * per);
    data.set(real.data.subarray(r * per, (r + 1) * per) as Uint8Array, (2 * i + 1) * per);
  });
  return sampleGrid({ data, n: pairs.length * 2, h: syn.h, w: syn.w, c: syn.c }, { columns: 2 });
}

export async function runMemorization(
  deps: { source: SliceSource; artifacts: ArtifactStore; provenance?: Record<string, unknown> },
  p: MemorizationParams,
  control: RunControl = {},
): Promise<StoredReport> {
  const progress = control.progress ?? (() => {});
  if (!p.syntheticDatasetId || !p.realDatasetId)
    throw new InvalidInput("synthetic_dataset_id and real_dataset_id are both required");
  const threshold = p.nccThreshold || DEFAULT_NCC_THRESHOLD;
  const [syn, real] = await Promise.all([
    deps.source.describe(p.syntheticDatasetId, { signal: control.signal }),
    deps.source.describe(p.realDatasetId, { signal: control.signal }),
  ]);
  progress({ fraction: 0.02, phase: "load", message: "reading the real training slices" });
  // All five channels are read so the figure can show the pair; the gate checks only the requested ones.
  const channels = p.channels.length ? p.channels : undefined;
  const realSet = await collectImages(deps.source, real.id, "memorization gate (real training slices)", {
    split: "train",
    signal: control.signal,
  });
  let gate = new MemorizationGate(realSet, { channels, nccThreshold: threshold });
  let calibration: MemorizationCalibration | undefined;
  if (p.calibratePercentile) {
    progress({
      fraction: 0.2,
      phase: "calibrate",
      message: "matching real held-out slices against the training slices",
    });
    const heldOut = await collectImages(deps.source, real.id, "memorization calibration (real held-out slices)", {
      split: "test",
      signal: control.signal,
    });
    calibration = await calibrateMemorizationGateAsync(heldOut, gate, p.calibratePercentile, {
      pace: { signal: control.signal },
    });
    gate = new MemorizationGate(realSet, { channels, nccThreshold: calibration.nccThreshold });
  }
  progress({ fraction: 0.3, phase: "load", message: "reading the synthetic samples" });
  const synSet = await collectImages(deps.source, syn.id, "memorization report (synthetic)", {
    split: "all",
    maxSlices: p.maxSamples,
    signal: control.signal,
  });
  progress({ fraction: 0.4, phase: "match", message: `matching ${synSet.n} samples against ${realSet.n} slices` });
  const rep = await memorizationReportAsync(synSet, gate, { pace: { signal: control.signal } });
  const names = rep.channels.map((c) => CHANNEL_NAMES[c] ?? `c${c}`);
  const syntheticMax = referenceDistribution(rep.samples.map((s) => s.maxNcc));
  const quantiles = (d: { n: number; mean: number; quantiles: { q: number; value: number }[] }) => ({
    n: d.n,
    mean: d.mean,
    quantiles: d.quantiles,
  });
  const q = (d: { quantiles: { q: number; value: number }[] }, x: number) =>
    d.quantiles.find((v) => v.q === x)?.value ?? Number.NaN;

  const summary: Record<string, number> = {
    memorized_count: rep.flagged.length,
    memorized_fraction: rep.flagged.length / rep.nSynthetic,
    n_synthetic: rep.nSynthetic,
    n_real: rep.nReal,
    ncc_threshold: rep.nccThreshold,
    max_ncc: Math.max(...rep.samples.map((s) => s.maxNcc)),
    synthetic_median_max_ncc: q(syntheticMax, 0.5),
    synthetic_p99_max_ncc: q(syntheticMax, 0.99),
  };
  if (calibration) {
    summary.calibrate_percentile = calibration.percentile;
    summary.held_out_median_max_ncc = q(calibration.heldOut, 0.5);
    summary.held_out_p99_max_ncc = q(calibration.heldOut, 0.99);
    summary.n_held_out = calibration.heldOut.n;
    summary.fixed_gate_flags_held_out = calibration.fixedGateFlagsHeldOut;
  }
  rep.perChannel.forEach((pc, i) => {
    summary[`max_ncc_${names[i]}`] = pc.ncc.quantiles[pc.ncc.quantiles.length - 1].value;
    summary[`median_ncc_${names[i]}`] = pc.ncc.quantiles.find((q) => q.q === 0.5)?.value ?? Number.NaN;
    summary[`min_l2_${names[i]}`] = pc.l2.quantiles[0].value;
  });
  const samplesCsv = toCsv(
    ["sample", "channel", "max_ncc", "ncc_real_index", "min_l2", "l2_real_index", "flagged"],
    rep.samples.flatMap((s) =>
      s.perChannel.map((c, i) => [
        s.index,
        names[i],
        c.maxNcc,
        c.nccIndex,
        c.minL2,
        c.l2Index,
        s.maxNcc >= rep.nccThreshold,
      ]),
    ),
  );
  const flaggedCsv = toCsv(
    ["sample", "max_ncc", "reason"],
    rep.flagged.map((f) => [f.index, f.maxNcc, f.reason]),
  );
  const files: Record<string, string | Buffer> = {
    "report.json": jsonWithNull({
      schema: "synthmri.memorization/v1",
      synthetic_dataset: syn.id,
      real_dataset: real.id,
      real_split: "train",
      n_synthetic: rep.nSynthetic,
      n_real: rep.nReal,
      channels: names,
      ncc_threshold: rep.nccThreshold,
      // Per sample max NCC over the checked channels: synthetic, and (calibrated) real held-out as the reference.
      synthetic_max_ncc: quantiles(syntheticMax),
      ...(calibration
        ? {
            calibration: {
              method: `threshold = percentile ${calibration.percentile} of the max NCC of real held-out (test) slices to the real training slices`,
              percentile: calibration.percentile,
              ncc_threshold: calibration.nccThreshold,
              held_out_max_ncc: quantiles(calibration.heldOut),
              fixed_gate_0_95_flags_held_out: calibration.fixedGateFlagsHeldOut,
            },
          }
        : {}),
      per_channel: rep.perChannel.map((pc, i) => ({ channel: names[i], ncc: pc.ncc, l2: pc.l2 })),
      flagged: rep.flagged,
      definitions: {
        max_ncc: "max over real training slices of the zero-shift normalized cross-correlation, per channel",
        min_l2: "min over real training slices of the Euclidean distance of the 0-255 pixel values, per channel",
        flagged: `max NCC >= ${rep.nccThreshold} in any checked channel`,
      },
    }),
    "samples.csv": samplesCsv,
    "flagged.csv": flaggedCsv,
  };
  const shown = rep.flagged.slice(0, FIGURE_PAIRS).map((f) => {
    const m = rep.samples[f.index];
    const best = m.perChannel.reduce((bi, c, i, all) => (c.maxNcc > all[bi].maxNcc ? i : bi), 0);
    return { s: f.index, r: m.perChannel[best].nccIndex };
  });
  if (shown.length) files["flagged_pairs.png"] = pairsFigure(synSet, realSet, shown);
  files["report.md"] = [
    "# Memorization: synthetic samples vs real training slices",
    "",
    `${rep.nSynthetic} samples of synthetic dataset ${syn.id} against ${rep.nReal} training slices of ${real.id}; ` +
      `channels ${names.join(", ")}; flagged when max NCC >= ${rep.nccThreshold}.`,
    "",
    `**Flagged: ${rep.flagged.length} of ${rep.nSynthetic}.**`,
    "",
    ...(calibration
      ? [
          `Threshold calibrated: percentile ${calibration.percentile} of the max NCC of ${calibration.heldOut.n} real held-out slices ` +
            `to the training slices (a fixed 0.95 would flag ${(100 * calibration.fixedGateFlagsHeldOut).toFixed(1)} % of them).`,
          "",
          "| Max NCC to a training slice | n | median | p95 | p99 | max |",
          "|---|---|---|---|---|---|",
          `| real held-out (reference) | ${calibration.heldOut.n} | ${q(calibration.heldOut, 0.5).toFixed(4)} | ${q(calibration.heldOut, 0.95).toFixed(4)} | ${q(calibration.heldOut, 0.99).toFixed(4)} | ${q(calibration.heldOut, 1).toFixed(4)} |`,
          `| synthetic | ${syntheticMax.n} | ${q(syntheticMax, 0.5).toFixed(4)} | ${q(syntheticMax, 0.95).toFixed(4)} | ${q(syntheticMax, 0.99).toFixed(4)} | ${q(syntheticMax, 1).toFixed(4)} |`,
          "",
        ]
      : []),
    "| Channel | max NCC: median | p95 | max | min L2 |",
    "|---|---|---|---|---|",
    ...rep.perChannel.map((pc, i) => {
      const q = (x: number) => pc.ncc.quantiles.find((v) => v.q === x)?.value ?? Number.NaN;
      return `| ${names[i]} | ${q(0.5).toFixed(4)} | ${q(0.95).toFixed(4)} | ${q(1).toFixed(4)} | ${pc.l2.quantiles[0].value.toFixed(2)} |`;
    }),
    "",
    shown.length ? "Flagged pairs (synthetic left, nearest real right): ![pairs](flagged_pairs.png)" : "",
    "",
  ].join("\n");
  progress({ fraction: 0.95, phase: "store", message: "writing report" });
  const inputs = [syn.manifest, real.manifest].filter((r): r is ObjectRef => r !== undefined);
  return writeReport(
    deps.artifacts,
    p.reportId,
    { kind: "memorization", summary, outputDir: "" },
    files,
    inputs,
    { ...p, reportId: undefined, nccThreshold: calibration?.nccThreshold ?? threshold },
    deps.provenance,
  );
}

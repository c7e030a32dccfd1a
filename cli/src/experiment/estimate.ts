// `synthmri experiment run --estimate` (issue 15): before anything trains, what the spec will cost on the backend the
// services would use, from step times measured here and now: one GAN step at the spec's top resolution and one U-Net
// step at its training size (packages/ml step probes, synthetic data), times the steps the spec implies. Defaults
// (a 0 in the spec) are the services' own: generator params (600 kimg per PGAN phase, batch 16) and DEFAULT_SEG_TRAIN.
import { type BackendInfo, DEFAULT_SEG_TRAIN, ganStepProbe, initBackend, timeProbe, unetStepProbe } from "@synthmri/ml";
import { FAMILY_STEP_RATIO } from "./family-costs.js";
import type { ExperimentSpec } from "./spec.js";

/** The generator's defaults (services/generator/src/domain/params.ts) for a 0 in the spec. */
const GAN_KIMG_PER_PHASE = 600;
const GAN_BATCH = 16;

export interface ExperimentWork {
  gan: { family: string; resolution: number; members: number; batch: number; stepsPerMember: number };
  unet: { size: number; batch: number; widths: number[]; heads: number; runs: number; stepsPerRun: number };
  /** real + synthetic-k + real+synthetic-k conditions, each trained `segmenter.runs` times. */
  conditions: number;
}

/** The training steps a spec implies (pure: no backend). */
export function experimentWork(spec: ExperimentSpec): ExperimentWork {
  const g = spec.gan;
  const resolution = g.resolution || spec.data.sliceSize;
  const maxLevel = Math.log2(resolution) - 2;
  const phaseImages = (g.kimgPerPhase || GAN_KIMG_PER_PHASE) * 1000;
  const images = g.totalKimg
    ? g.totalKimg * 1000
    : g.family === "pgan"
      ? (1 + 2 * maxLevel) * phaseImages
      : phaseImages;
  const ganBatch = g.batchSize || GAN_BATCH;
  const s = spec.segmenter;
  const inputSize = spec.data.sliceSize;
  const size = s.patchSize && s.patchSize < inputSize ? s.patchSize : inputSize;
  // As services/segmenter's train-params: 6 levels at 256, one less per halving; widths base*2^i up to max.
  const depth = s.depth || Math.max(2, Math.min(8, Math.round(Math.log2(inputSize)) - 2));
  const widths = Array.from({ length: depth }, (_, i) => Math.min(s.maxFilters || 512, (s.baseFilters || 32) * 2 ** i));
  const conditions = 1 + spec.synthetic.ensembleSizes.length + spec.synthetic.mixWithReal.length;
  return {
    gan: {
      family: g.family,
      resolution,
      members: g.members,
      batch: ganBatch,
      stepsPerMember: Math.ceil(images / ganBatch),
    },
    unet: {
      size,
      batch: s.batchSize || DEFAULT_SEG_TRAIN.batchSize,
      widths,
      heads: s.deepSupervision || Math.min(5, depth - 1),
      runs: conditions * s.runs,
      stepsPerRun:
        (s.epochs || DEFAULT_SEG_TRAIN.epochs) * (s.iterationsPerEpoch || DEFAULT_SEG_TRAIN.iterationsPerEpoch),
    },
    conditions,
  };
}

export interface StepTimes {
  ganMs: number;
  unetMs: number;
}

const PROBED_FAMILIES = new Set<string>(["pgan", "dcgan", "lsgan", "hinge"]);

/** Device-hours of the work at the given step times, GAN and U-Net apart. */
export function deviceHours(work: ExperimentWork, t: StepTimes): { gan: number; unet: number; total: number } {
  const gan = (work.gan.members * work.gan.stepsPerMember * t.ganMs) / 3.6e6;
  const unet = (work.unet.runs * work.unet.stepsPerRun * t.unetMs) / 3.6e6;
  return { gan, unet, total: gan + unet };
}

/** Measures one GAN and one U-Net step (1 warm-up + `steps` timed) on the backend initBackend picks. */
export async function measureStepTimes(
  spec: ExperimentSpec,
  work: ExperimentWork,
  steps = 2,
): Promise<StepTimes & { backend: BackendInfo }> {
  const backend = await initBackend();
  const gan = ganStepProbe(
    {
      // The step probe builds PGAN-style nets only: the other families (ddpm, stylegan2, spade2stage) are a PGAN
      // step of the same size times their measured ratio (family-costs.ts).
      family: PROBED_FAMILIES.has(spec.gan.family) ? (spec.gan.family as "pgan") : "pgan",
      resolution: work.gan.resolution,
      channels: 5,
      ...(spec.gan.latentDim ? { latentSize: spec.gan.latentDim } : {}),
      ...(spec.gan.fmapMax ? { fmapMax: spec.gan.fmapMax } : {}),
    },
    work.gan.batch,
  );
  let ganMs: number;
  try {
    ganMs = (await timeProbe(gan, 1, steps)) * FAMILY_STEP_RATIO[spec.gan.family];
  } finally {
    gan.dispose();
  }
  const unet = unetStepProbe(
    { inChannels: 4, numClasses: 4, widths: work.unet.widths, deepSupervisionHeads: work.unet.heads },
    work.unet.batch,
    work.unet.size,
  );
  let unetMs: number;
  try {
    unetMs = await timeProbe(unet, 1, steps);
  } finally {
    unet.dispose();
  }
  return { ganMs, unetMs, backend };
}

export function formatEstimate(spec: ExperimentSpec, work: ExperimentWork, t: StepTimes, backend: string): string {
  const h = deviceHours(work, t);
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const { gan, unet } = work;
  return [
    `experiment ${spec.name}: cost estimate on ${backend} (measured now, before anything trains)`,
    `  GAN: ${gan.members} ${gan.family} members x ${gan.stepsPerMember} steps (batch ${gan.batch}), ${t.ganMs.toFixed(0)} ms/step at ${gan.resolution}x${gan.resolution}: ${f(h.gan)} device-hours${gan.family === "pgan" ? " (every phase costed at the top resolution: an upper bound, lower phases are cheaper)" : ""}`,
    `  U-Net: ${work.conditions} conditions x ${spec.segmenter.runs} runs = ${unet.runs} trainings x ${unet.stepsPerRun} steps (batch ${unet.batch}, ${unet.size}x${unet.size}, widths ${unet.widths.join(",")}), ${t.unetMs.toFixed(0)} ms/step: ${f(h.unet)} device-hours`,
    `  total: ${f(h.total)} device-hours = ${f(h.total / 24)} device-days on one device${spec.gan.concurrency > 1 ? ` (GAN concurrency ${spec.gan.concurrency} divides the GAN wall time, not the device-hours)` : ""}`,
  ].join("\n");
}

/** The whole --estimate: work, measurement, report on stdout. */
export async function printEstimate(
  spec: ExperimentSpec,
  write = (s: string) => process.stdout.write(s),
): Promise<void> {
  const work = experimentWork(spec);
  const t = await measureStepTimes(spec, work);
  const b = t.backend;
  write(`${formatEstimate(spec, work, t, `${b.provider}${b.adapter ? ` (${b.adapter})` : ""}`)}\n`);
}

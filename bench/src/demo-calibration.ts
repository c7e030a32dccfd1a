// The demo's calibration, in process (issue 16): the demo cohort (30 phantom subjects of 64x64x40, sliced as
// ingest slices them and resized to 32x32, 10 subjects held out), then
//   - the intensity-only baseline and the demo's real-only U-Net (Dice on the held-out subjects), and
//   - optionally (DEMO_CAL_GAN=1) one PGAN of the demo's configuration trained on the training slices, 480
//     samples from its averaged generator, and the demo's U-Net trained on those samples alone,
// with the CPU-seconds of each part (process.cpuUsage, one compute thread as a demo member process has).
// It answers "what does a GAN budget buy?" without starting the services. Replaces the opt-in
// PHANTOM_UNET_CALIBRATION test. `npx tsx bench/src/demo-calibration.ts`; knobs (env): DEMO_CAL_SEED (0),
// DEMO_CAL_GAN (0), DEMO_CAL_KIMG_PER_PHASE (0.5), DEMO_CAL_TOTAL_KIMG (3.5), DEMO_CAL_BATCH (8),
// DEMO_CAL_LR (0.001), DEMO_CAL_EMA (0.95), DEMO_CAL_SAMPLES (2240 U-Net training samples), DEMO_CAL_REAL (1),
// DEMO_CAL_FAMILY (pgan), DEMO_CAL_MASK (level | onehot | regions: the GAN's mask encoding).
import { maskToLabels } from "@synthmri/core";
import {
  arraySegSource,
  holdOut,
  initBackend,
  predictProbabilities,
  type SegSample,
  SHORT_RUN_SEG_TRAIN,
  sample,
  tf,
  trainSegmenter,
  zScoreInPlace,
} from "@synthmri/ml";
import { intensityOnlyBaseline, scoreSubjects } from "@synthmri/eval";
import { trainCandidate } from "./demo-candidates.js";
import { ingestedPhantomCohort } from "@synthmri/volume";

const env = process.env;
const num = (k: string, d: number) => (env[k] !== undefined && env[k] !== "" ? Number(env[k]) : d);
const seed = num("DEMO_CAL_SEED", 0);
const SIZE = 32;

interface Subject {
  subject: string;
  slices: SegSample[];
  /** 5-channel slices in [-1, 1] (the GAN's input). */
  gan: Float32Array;
}

/** The demo cohort exactly as ingest imports it (same slices, same held-out subjects as the evaluator scores). */
function cohort(): { train: Subject[]; test: Subject[] } {
  const all = ingestedPhantomCohort({
    subjects: 30,
    size: [64, 64, 40],
    seed,
    testSubjects: 10,
    sliceSize: SIZE,
  }).map((p) => {
    const { batch } = p;
    const hw = SIZE * SIZE;
    const slices: SegSample[] = [];
    for (let k = 0; k < batch.count; k++) {
      const image = new Float32Array(hw * 4);
      const mask = new Uint8Array(hw);
      for (let px = 0; px < hw; px++) {
        const o = (k * hw + px) * 5;
        for (let c = 0; c < 4; c++) image[px * 4 + c] = batch.data[o + c];
        mask[px] = batch.data[o + 4];
      }
      slices.push({ height: SIZE, width: SIZE, channels: 4, image, label: maskToLabels(mask, "phantom slice") });
    }
    return {
      subject: p.subject,
      split: p.split,
      slices,
      gan: Float32Array.from(batch.data, (v) => v / 127.5 - 1),
    };
  });
  return { train: all.filter((s) => s.split === "train"), test: all.filter((s) => s.split === "test") };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

async function unetDice(samples: SegSample[], groupOf: ((i: number) => string) | undefined, test: Subject[]) {
  const split = holdOut(arraySegSource(samples, groupOf), 0.2, seed, groupOf ? {} : { by: "image" });
  const trainingSamples = num("DEMO_CAL_SAMPLES", 2240);
  const result = await trainSegmenter({
    config: {
      ...SHORT_RUN_SEG_TRAIN,
      unet: { widths: [8, 16, 32], deepSupervisionHeads: 2 },
      epochs: 8,
      iterationsPerEpoch: Math.max(1, Math.round(trainingSamples / 64)),
      batchSize: 8,
      patchSize: SIZE,
      augmentation: { enabled: false },
    },
    data: { train: [split.train], validation: split.validation },
    seed,
  });
  const scored = [];
  for (const s of test) {
    const data = new Float32Array(s.slices.length * SIZE * SIZE * 4);
    s.slices.forEach((x, i) => {
      data.set(zScoreInPlace(new Float32Array(x.image), SIZE, SIZE, 4), i * SIZE * SIZE * 4);
    });
    const lab = tf.tidy(() =>
      tf.argMax(predictProbabilities(result.model, tf.tensor4d(data, [s.slices.length, SIZE, SIZE, 4])), -1),
    );
    const flat = Uint8Array.from((await lab.data()) as Int32Array);
    lab.dispose();
    const pred = s.slices.map((_, i) => flat.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE));
    scored.push({ subject: s.subject, height: SIZE, width: SIZE, pred, truth: s.slices.map((x) => x.label) });
  }
  result.model.dispose();
  return scoreSubjects(scored);
}

const fmt = (d: Record<string, number>) =>
  Object.fromEntries(["NCR", "ED", "ET", "WT", "TC"].map((k) => [k, Number(d[k].toFixed(3))]));

await initBackend({ threads: 1 });
const { train, test } = cohort();
const realSamples = train.flatMap((s) => s.slices);
const subjectOf = train.flatMap((s) => s.slices.map(() => s.subject));
const base = intensityOnlyBaseline(
  realSamples,
  test.map((s) => ({ subject: s.subject, slices: s.slices })),
);
console.log(
  JSON.stringify({ seed, row: "baseline-intensity-only", dice: fmt(base.dice), mean: +base.meanNcrEdEt.toFixed(3) }),
);
if (num("DEMO_CAL_REAL", 1)) {
  const t0 = process.cpuUsage();
  const real = await unetDice(realSamples, (i) => subjectOf[i], test);
  // The calibration targets (issue 16): room for synthetic data to help and to hurt.
  const inRange = real.dice.WT >= 0.6 && real.dice.WT <= 0.9 && base.meanNcrEdEt <= 0.5;
  if (!inRange) process.exitCode = 1;
  console.log(
    JSON.stringify({
      calibration: inRange ? "ok: real-only WT in [0.6, 0.9], intensity-only mean <= 0.5" : "OUT OF RANGE",
      seed,
      row: "real",
      dice: fmt(real.dice),
      mean: +real.meanNcrEdEt.toFixed(3),
      cpuS: +cpuSeconds(t0).toFixed(1),
    }),
  );
}
if (num("DEMO_CAL_GAN", 0)) {
  const batch = num("DEMO_CAL_BATCH", 8);
  const family = env.DEMO_CAL_FAMILY ?? "pgan";
  const lr = num("DEMO_CAL_LR", 0.001);
  const ema = num("DEMO_CAL_EMA", 0.95);
  const phase = num("DEMO_CAL_KIMG_PER_PHASE", 0.5) * 1000;
  const total = num("DEMO_CAL_TOTAL_KIMG", 3.5) * 1000;
  const trainSlices = realSamples.length;
  const t0 = process.cpuUsage();
  const model = await trainCandidate(family, { batch, lr, ema, phase, total, train, trainSlices });
  const ganCpu = cpuSeconds(t0);
  const s = sample(model, 480, seed + 1);
  model.dispose();
  const hw = SIZE * SIZE;
  const synthetic: SegSample[] = [];
  for (let k = 0; k < s.count; k++) {
    const image = new Float32Array(hw * 4);
    for (let px = 0; px < hw; px++)
      for (let c = 0; c < 4; c++) image[px * 4 + c] = (s.images[(k * hw + px) * 5 + c] + 1) * 127.5;
    synthetic.push({ height: SIZE, width: SIZE, channels: 4, image, label: s.labels.slice(k * hw, (k + 1) * hw) });
  }
  const raw = synthetic;
  for (const bg of (env.DEMO_CAL_BG ?? "0").split(",").map(Number)) {
    // As the generator stores samples (uint8, rounded), then DEMO_CAL_BG: pixels whose 4 sequences are all below
    // this level (0-255) become 0, the background the real slices have (the U-Net z-scores over non-zero pixels).
    let nonZero = 0;
    const synthetic = raw.map((x) => ({ ...x, image: Float32Array.from(x.image) }));
    for (const x of synthetic) {
      for (let i = 0; i < x.image.length; i++) x.image[i] = Math.round(x.image[i]);
      for (let px = 0; px < hw; px++) {
        const o = px * 4;
        if (bg > 0 && x.image[o] < bg && x.image[o + 1] < bg && x.image[o + 2] < bg && x.image[o + 3] < bg)
          x.image.fill(0, o, o + 4);
        if (x.image[o] || x.image[o + 1] || x.image[o + 2] || x.image[o + 3]) nonZero++;
      }
    }
    let realNonZero = 0;
    for (const x of realSamples)
      for (let px = 0; px < hw; px++)
        if (x.image[px * 4] || x.image[px * 4 + 1] || x.image[px * 4 + 2] || x.image[px * 4 + 3]) realNonZero++;
    const fg = synthetic.filter((x) => x.label.some((l) => l > 0)).length;
    // Shares of NCR/ED/ET among tumour pixels, synthetic vs real: did the sampled masks keep every class?
    const shares = (xs: SegSample[]) => {
      const n = [0, 0, 0, 0];
      for (const x of xs) for (const l of x.label) n[l]++;
      const t = n[1] + n[2] + n[3] || 1;
      return { NCR: +(n[1] / t).toFixed(3), ED: +(n[2] / t).toFixed(3), ET: +(n[3] / t).toFixed(3) };
    };
    const realFg = realSamples.filter((x) => x.label.some((l) => l > 0)).length / realSamples.length;
    const t1 = process.cpuUsage();
    const syn = await unetDice(synthetic, undefined, test);
    console.log(
      JSON.stringify({
        seed,
        row: "synthetic-1",
        gan: {
          family,
          mask: env.DEMO_CAL_MASK || "level",
          batch,
          kimgPerPhase: phase / 1000,
          totalKimg: total / 1000,
          lr,
          cpuS: +ganCpu.toFixed(1),
        },
        samplesWithTumour: fg,
        tumourShares: { synthetic: shares(synthetic), real: shares(realSamples) },
        realTumourFraction: +realFg.toFixed(3),
        nonZeroFraction: +(nonZero / (synthetic.length * hw)).toFixed(3),
        realNonZeroFraction: +(realNonZero / (realSamples.length * hw)).toFixed(3),
        bg,
        dice: fmt(syn.dice),
        mean: +syn.meanNcrEdEt.toFixed(3),
        unetCpuS: +cpuSeconds(t1).toFixed(1),
      }),
    );
  }
}

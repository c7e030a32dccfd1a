// Generator candidates for the demo (issue 16): one generator of a family trained in process on the demo's
// training slices, for demo-calibration.ts to sample and score. pgan: progressive WGAN-GP as the demo spec;
// hinge / dcgan / lsgan: the fixed-resolution DCGAN nets; spade2stage: label-map PGAN + SPADE (trains on a 6th,
// tissue channel, segmented from T1 over the stack as the generator service does); stylegan2: joint image + mask.
import {
  arraySliceSource,
  defaultGanConfig,
  demoSpadeConfig,
  demoStyleGan2Config,
  type GanFamily,
  type MaskEncoding,
  type SampleableModel,
  tissueLevel,
  trainFamily,
  trainGan,
} from "@synthmri/ml";
import { segmentTissue } from "@synthmri/volume";

export interface CandidateSubject {
  /** 5-channel slices in [-1, 1]. */
  gan: Float32Array;
}

export interface CandidateOptions {
  batch: number;
  lr: number;
  ema: number;
  /** PGAN: images per fade / stabilise phase. */
  phase: number;
  total: number;
  train: CandidateSubject[];
  trainSlices: number;
  size?: number;
}

type Disposable = SampleableModel & { dispose(): void };

function concat(train: CandidateSubject[]): Float32Array {
  const out = new Float32Array(train.reduce((n, s) => n + s.gan.length, 0));
  let at = 0;
  for (const s of train) {
    out.set(s.gan, at);
    at += s.gan.length;
  }
  return out;
}

/** The 5 channels + the tissue level (0 bg, 1 CSF, 2 GM, 3 WM of T1 inside the brain). */
function withTissue(data: Float32Array, count: number, size: number): Float32Array {
  const px = count * size * size;
  const t1 = new Float32Array(px);
  const brain = new Uint8Array(px);
  for (let p = 0; p < px; p++) {
    t1[p] = (data[p * 5] + 1) * 127.5;
    brain[p] = [0, 1, 2, 3].some((c) => data[p * 5 + c] > -1) ? 1 : 0;
  }
  const labels = segmentTissue(t1, brain, [size, size, count], { biasDegree: 0 }).labels;
  const out = new Float32Array(px * 6);
  for (let p = 0; p < px; p++) {
    for (let c = 0; c < 5; c++) out[p * 6 + c] = data[p * 5 + c];
    out[p * 6 + 5] = tissueLevel(labels[p] ?? 0);
  }
  return out;
}

export async function trainCandidate(family: string, o: CandidateOptions): Promise<Disposable> {
  const size = o.size ?? 32;
  const env = process.env;
  const data = concat(o.train);
  const seed = Number(env.DEMO_CAL_SEED ?? 0);
  if (family === "pgan" || family === "hinge" || family === "dcgan" || family === "lsgan") {
    const progressive = family === "pgan";
    const config = defaultGanConfig({
      family: family as GanFamily,
      resolution: size,
      latentSize: 64,
      fmapMax: Number(env.DEMO_CAL_FMAP_MAX ?? 16),
      fmapBase: Number(env.DEMO_CAL_FMAP_MIN ?? 8) * 16,
      adam: progressive
        ? { learningRate: o.lr, beta1: 0, beta2: 0.99, epsilon: 1e-8 }
        : { learningRate: o.lr, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 },
      generatorEmaDecay: o.ema,
      // DEMO_CAL_MASK: level (default) | onehot | regions, how the networks see the mask (issue 16).
      ...(env.DEMO_CAL_MASK ? { maskEncoding: env.DEMO_CAL_MASK as MaskEncoding } : {}),
    });
    const trained = await trainGan({
      config,
      data: arraySliceSource(data, o.trainSlices, size, 5),
      seed,
      schedule: { fadeImages: o.phase, stabiliseImages: o.phase, totalImages: o.total, batchSizes: [o.batch] },
      checkpointEveryKimg: 1e9,
    });
    trained.model.useAveragedGenerator();
    return trained.model;
  }
  if (family === "spade2stage" || family === "stylegan2") {
    const config =
      family === "spade2stage"
        ? demoSpadeConfig({ resolution: size })
        : demoStyleGan2Config({ resolution: size, learningRate: o.lr });
    const input = family === "spade2stage" ? withTissue(data, o.trainSlices, size) : data;
    const trained = await trainFamily({
      config,
      data: arraySliceSource(input, o.trainSlices, size, family === "spade2stage" ? 6 : 5),
      seed,
      totalImages: o.total,
      batchSize: o.batch,
      checkpointEveryKimg: 1e9,
    });
    return trained.model as Disposable;
  }
  throw new Error(`unknown candidate family ${family}`);
}

import { beforeAll, describe, expect, it } from "vitest";
import {
  arraySegSource,
  BENCH_UNET,
  decodeTrainState,
  deepSupervisionWeights,
  downsampleLabels,
  encodeTrainState,
  holdOut,
  loadUNet,
  MixedSampler,
  forcedForegroundCount,
  foregroundIndices,
  type SegSliceSource,
  subsetSegSource,
  Rng,
  type SegTrainState,
  saveUNet,
  segmentSlices,
  segmentVolume,
  type TrainCheckpoint,
  tf,
  trainSegmenter,
  UNet,
} from "../src/index.js";
import { discSample } from "./seg-fixtures.js";

const TINY = { inChannels: 4, numClasses: 4, widths: [4, 8, 16], deepSupervisionHeads: 2 };

function memoryCheck<T>(f: () => T): T {
  const before = tf.memory().numTensors;
  const out = f();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("UNet", () => {
  it("bench configuration has exactly the SPEC.md parameter count; a 6-level net has 5 heads", () => {
    const m = new UNet(BENCH_UNET, 1);
    expect(m.parameterCount()).toBe(1_945_152);
    m.dispose();
    const deep = new UNet({ widths: [4, 4, 4, 4, 4, 4], deepSupervisionHeads: 5 }, 1);
    expect(deep.params.names().filter((n) => n.endsWith("head.w")).length).toBe(5);
    deep.dispose();
    expect(() => new UNet({ widths: [4, 8], deepSupervisionHeads: 3 })).toThrow(/deepSupervisionHeads/);
    expect(deepSupervisionWeights(4).map((w) => w * 15)).toEqual([8, 4, 2, 1].map((v) => expect.closeTo(v, 10)));
  });

  it("forward: all heads in training, full-resolution logits in inference, no tensor leaks", () => {
    const m = new UNet(TINY, 2);
    memoryCheck(() =>
      tf.tidy(() => {
        const x = tf.randomNormal([2, 16, 16, 4]) as tf.Tensor4D;
        const train = m.forward(x, { training: true });
        expect(train.map((t) => t.shape)).toEqual([
          [2, 16, 16, 4],
          [2, 8, 8, 4],
        ]);
        const infer = m.forward(x);
        expect(infer.map((t) => t.shape)).toEqual([[2, 16, 16, 4]]);
        expect(() => m.forward(tf.zeros([1, 10, 16, 4]) as tf.Tensor4D)).toThrow(/divisible by 4/);
      }),
    );
    m.dispose();
  });

  it("serialises config + weights and loads back to bit-identical outputs", () => {
    const m = new UNet(TINY, 3);
    const bytes = saveUNet(m);
    const back = loadUNet(bytes);
    expect(back.config).toEqual(m.config);
    tf.tidy(() => {
      const x = tf.tensor4d(new Rng(9).fillNormal(new Float32Array(16 * 16 * 4)), [1, 16, 16, 4]);
      expect(back.forward(x)[0].dataSync()).toEqual(m.forward(x)[0].dataSync());
    });
    expect(() => loadUNet(bytes.subarray(0, 20))).toThrow(/truncated|SMUNET01/);
    m.dispose();
    back.dispose();
  });

  it("downsamples targets by taking every 2^d-th pixel", () => {
    const l = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect([...downsampleLabels(l, 1, 4, 4, 1)]).toEqual([0, 2, 8, 10]);
  });
});

describe("sampler and data split", () => {
  it("draws real and synthetic pools equally often whatever their sizes", () => {
    const s = new MixedSampler([10, 1000]);
    const rng = new Rng(0);
    const counts = [0, 0];
    const seen = new Set<number>();
    for (let i = 0; i < 1001; i++) {
      const { pool, index } = s.next(rng);
      counts[pool]++;
      if (pool === 0) seen.add(index);
    }
    expect(Math.abs(counts[0] - counts[1])).toBeLessThanOrEqual(1);
    expect(seen.size).toBe(10);
  });

  it("foreground draws come from the pool's tumour slices (nnU-Net: the last 3 of a batch of 8)", async () => {
    expect(forcedForegroundCount(8, 0.33)).toBe(3);
    expect(forcedForegroundCount(2, 0.33)).toBe(1);
    expect(forcedForegroundCount(8, 0)).toBe(0);
    const rng = new Rng(3);
    const s = new MixedSampler([50, 20], undefined, [[4, 9, 30], []]);
    for (let i = 0; i < 200; i++) {
      const d = s.next(rng, true);
      // Pool 1 has no foreground slice: a forced draw falls back to a uniform one.
      if (d.pool === 0) expect([4, 9, 30]).toContain(d.index);
      else expect(d.index).toBeLessThan(20);
    }
    const label = (fg: boolean) => Uint8Array.from({ length: 16 }, (_, i) => (fg && i === 5 ? 2 : 0));
    const samples = [false, true, false, true].map((fg) => ({
      height: 4,
      width: 4,
      channels: 4,
      image: new Float32Array(64),
      label: label(fg),
    }));
    const plain: SegSliceSource = { length: 4, get: (i) => samples[i] };
    expect(await foregroundIndices(plain)).toEqual([1, 3]);
    expect(await foregroundIndices(subsetSegSource(arraySegSource(samples), [3, 0, 1]))).toEqual([0, 2]);
  });

  it("holds out 20 % of subjects, keeping each subject's slices together", () => {
    const samples = Array.from({ length: 50 }, () => discSample(new Rng(1)));
    const src = arraySegSource(samples, (i) => `s${Math.floor(i / 5)}`);
    const { train, validation } = holdOut(src, 0.2, 7);
    expect(validation.length).toBe(10);
    expect(train.length).toBe(40);
    const valSubjects = new Set(Array.from({ length: validation.length }, (_, i) => validation.groupOf!(i)));
    const trainSubjects = new Set(Array.from({ length: train.length }, (_, i) => train.groupOf!(i)));
    expect(valSubjects.size).toBe(2);
    for (const s of valSubjects) expect(trainSubjects.has(s)).toBe(false);
  });

  it("holds out 20 % of images by image when asked, whatever their groups", () => {
    const samples = Array.from({ length: 50 }, () => discSample(new Rng(1)));
    // one group for all (a 1-GAN synthetic set): by group there is nothing to hold out
    const src = arraySegSource(samples, () => "syn-0-m0");
    expect(holdOut(src, 0.2, 7).validation.length).toBe(0);
    const { train, validation } = holdOut(src, 0.2, 7, { by: "image" });
    expect(validation.length).toBe(10);
    expect(train.length).toBe(40);
    const picked = new Set(Array.from({ length: validation.length }, (_, i) => validation.get(i)));
    for (let i = 0; i < train.length; i++) expect(picked.has(train.get(i) as (typeof samples)[number])).toBe(false);
  });
});

function memoryCheckpoint(): TrainCheckpoint & { saved: Uint8Array | null; saves: number } {
  const store = {
    saved: null as Uint8Array | null,
    saves: 0,
    async save(state: SegTrainState) {
      store.saved = encodeTrainState(state);
      store.saves++;
    },
    async load() {
      return store.saved ? decodeTrainState(store.saved) : null;
    },
  };
  return store;
}

describe("trainSegmenter", () => {
  const rng = new Rng(42);
  const train = arraySegSource(Array.from({ length: 24 }, () => discSample(rng)));
  const validation = arraySegSource(Array.from({ length: 8 }, () => discSample(rng)));
  const config = {
    unet: TINY,
    batchSize: 4,
    iterationsPerEpoch: 2,
    epochs: 2,
    lr: 0.01,
    augmentation: { enabled: false },
  };

  it("resume from a cancelled run's state gives the same weights as an uninterrupted run", async () => {
    const before = tf.memory().numTensors;
    const full = await trainSegmenter({ config, data: { train: [train], validation }, seed: 5 });
    const ck = memoryCheckpoint();
    const ac = new AbortController();
    const first = await trainSegmenter({
      config,
      data: { train: [train], validation },
      seed: 5,
      signal: ac.signal,
      checkpoint: ck,
      onProgress: (p) => {
        if (p.kind === "iteration" && p.iteration === 3) ac.abort();
      },
    });
    expect(first.cancelled).toBe(true);
    expect(first.state.iteration).toBe(3);
    const resumed = await trainSegmenter({ config, data: { train: [train], validation }, seed: 5, checkpoint: ck });
    expect(resumed.cancelled).toBe(false);
    expect(resumed.state.iteration).toBe(4);
    expect(resumed.state.weights).toEqual(full.state.weights);
    expect(resumed.history.map((h) => h.validation)).toEqual(full.history.map((h) => h.validation));
    for (const r of [full, first, resumed]) r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("loss decreases on a tiny disc problem; progress, best model and TTA inference work", async () => {
    const progress: number[] = [];
    const epochs: { loss: number; mean?: number }[] = [];
    const res = await trainSegmenter({
      config: { ...config, epochs: 3, iterationsPerEpoch: 6, lr: 0.02, augmentation: {} },
      data: { train: [train], validation },
      seed: 1,
      onProgress: (p) => {
        if (p.kind === "iteration") progress.push(p.loss);
        else epochs.push({ loss: p.loss, mean: p.validation?.mean });
        expect(p.imagesPerSecond).toBeGreaterThan(0);
        expect(Number.isFinite(p.etaSeconds)).toBe(true);
      },
    });
    expect(progress.length).toBe(18);
    expect(progress.every(Number.isFinite)).toBe(true);
    expect(epochs[2].loss).toBeLessThan(epochs[0].loss);
    const bestMean = Math.max(...res.history.map((h) => h.validation!.mean));
    expect(res.best.validation!.mean).toBe(bestMean);

    const s = await validation.get(0);
    const out = await segmentSlices(
      res.model,
      { data: s.image, n: 1, height: 16, width: 16, channels: 4 },
      { tta: "flip-all", probabilities: true },
    );
    expect(out.labels.length).toBe(256);
    expect(out.probabilities!.length).toBe(256 * 4);
    for (let i = 0; i < 256; i += 37) {
      const p = out.probabilities!.subarray(i * 4, i * 4 + 4);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    // non-multiple sizes are padded and cropped back
    const odd = await segmentSlices(res.model, {
      data: new Float32Array(2 * 10 * 14 * 4).fill(1),
      n: 2,
      height: 10,
      width: 14,
      channels: 4,
    });
    expect(odd.labels.length).toBe(2 * 10 * 14);
    // a volume: 14 x 12 x 3, the middle slice has a disc
    const X = 14;
    const Y = 12;
    const seqs = Array.from({ length: 4 }, () => new Float32Array(X * Y * 3));
    for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) for (const q of seqs) q[x + X * (y + Y * 1)] = 1;
    const vol = await segmentVolume(res.model, { sequences: seqs, dims: [X, Y, 3] }, { tta: "flip" });
    expect(vol.length).toBe(X * Y * 3);
    expect(vol.subarray(0, X * Y).every((v) => v === 0)).toBe(true);
    await expect(
      segmentSlices(res.model, { data: new Float32Array(16 * 16 * 3), n: 1, height: 16, width: 16, channels: 3 }),
    ).rejects.toThrow(/4-channel/);
    res.model.dispose();
  });
});

// Two-stage synthesis (issue 21.1): label maps from a batch (tumour over tissue), SPADE learns to translate label
// maps into sequences, resume is exact for both stages, samples are seeded with valid masks.
import { beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import type { FamilyState } from "../src/families/model.js";
import { SpadeTwoStageModel, tissueLevel } from "../src/families/spade/model.js";
import { trainFamily } from "../src/families/train.js";
import { expectExactResume, tinySpadeConfig } from "./family-fixtures.js";
import type { GanState } from "../src/gan/model.js";
import { MASK_LEVELS } from "../src/gan/mask-encoding.js";
import { arraySliceSource } from "../src/gan/slice-source.js";
import { registerNativeKernels } from "../src/native/index.js";
import { Rng } from "../src/random/index.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
  registerNativeKernels();
});

const tiny = tinySpadeConfig;

/** 6-channel slices: WM core, GM ring, CSF ring, a tumour (ED with an ET core); sequences follow the classes. */
function twoStageSlices(n: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * size * size * 6);
  const contrast = [-1, 0.6, -0.1, 0.3]; // T1-like per tissue (bg, CSF, GM, WM)
  for (let i = 0; i < n; i++) {
    const c = size / 2 + rng.uniform(-1, 1);
    const r = size * rng.uniform(0.38, 0.45);
    const tx = c + rng.uniform(-0.2, 0.2) * r;
    const tr = r * rng.uniform(0.15, 0.3);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 6;
        const d = Math.hypot(x - c, y - c) / r;
        const tissue = d >= 1 ? 0 : d > 0.85 ? 1 : d > 0.6 ? 2 : 3;
        const dt = Math.hypot(x - tx, y - c) / tr;
        const tumour = tissue === 0 ? 0 : dt < 0.5 ? 3 : dt < 1 ? 2 : 0;
        for (let ch = 0; ch < 4; ch++) {
          const base = contrast[tissue] * (ch % 2 ? -1 : 1) * (tissue ? 1 : 0) + (tissue ? 0 : -1);
          out[o + ch] = tumour === 3 ? 0.9 : tumour === 2 ? 0.5 : base;
        }
        out[o + 4] = MASK_LEVELS[tumour];
        out[o + 5] = tissueLevel(tissue);
      }
  }
  return out;
}

/** The nested stage-1 PGAN's arrays (the family state's own weights and slots come from stateArrays). */
function stage1Arrays(st: FamilyState): Float32Array[] {
  const s1 = st.parts?.stage1 as GanState;
  return [
    ...s1.generator.map((a) => a.data),
    ...s1.discriminator.map((a) => a.data),
    ...s1.generatorOptimizer.moments.map((a) => a.data),
  ];
}

describe("SpadeTwoStageModel", () => {
  it("label maps put tumour classes over tissue classes", () => {
    const m = new SpadeTwoStageModel(tiny(), 1);
    const data = twoStageSlices(2, 16, 1);
    const real = tf.tensor4d(data, [2, 16, 16, 6]);
    const cls = tf.tidy(() => tf.argMax(m.labelMaps(real), 3).dataSync());
    for (let p = 0; p < 2 * 256; p++) {
      const tumour = MASK_LEVELS.findIndex((v) => Math.fround(v) === data[p * 6 + 4]);
      const tissue = Math.round(((data[p * 6 + 5] + 1) * 3) / 2);
      expect(cls[p]).toBe(tumour > 0 ? 3 + tumour : tissue);
    }
    real.dispose();
    m.dispose();
  });

  it("training lowers the translation error of stage 2 on real label maps; both stages report finite losses", async () => {
    const data = twoStageSlices(24, 16, 2);
    const source = arraySliceSource(data, 24, 16, 6);
    const evalReal = tf.tensor4d(data.subarray(0, 8 * 16 * 16 * 6), [8, 16, 16, 6]);
    const z = tf.tensor2d(new Rng(3).fillNormal(new Float32Array(8 * 4)), [8, 4]);
    const error = (m: SpadeTwoStageModel) =>
      tf.tidy(() => {
        const seq = tf.slice(evalReal, [0, 0, 0, 0], [-1, -1, -1, 4]);
        return tf.mean(tf.abs(tf.sub(m.translate(m.labelMaps(evalReal), z), seq))).dataSync()[0];
      });
    const m0 = new SpadeTwoStageModel(tiny({ lrG: 3e-3, lrD: 3e-3 }), 5);
    const before = error(m0);
    m0.dispose();
    const run = await trainFamily({
      config: tiny({ lrG: 3e-3, lrD: 3e-3 }),
      data: source,
      seed: 5,
      totalImages: 8 * 30,
      batchSize: 8,
      checkpointEveryKimg: 1,
    });
    const m = run.model as unknown as SpadeTwoStageModel;
    const after = error(m);
    console.log(`SPADE translation L1 ${before.toFixed(3)} -> ${after.toFixed(3)}; last losses`, run.history.at(-1));
    expect(run.history.every((l) => Object.values(l).every(Number.isFinite))).toBe(true);
    expect(after).toBeLessThan(0.7 * before);
    tf.dispose([evalReal, z]);
    m.dispose();
  });

  it("resume equals the uninterrupted run (both stages); samples are seeded with valid masks", async () => {
    const data = twoStageSlices(16, 16, 4);
    const source = arraySliceSource(data, 16, 16, 6);
    const base = { config: tiny(), data: source, seed: 9, totalImages: 24, batchSize: 4, checkpointEveryKimg: 0.008 };
    await expectExactResume(base, { killAfterSteps: 3, resumedFromKimg: 0.008, samples: 3, arrays: stage1Arrays });
  });
});

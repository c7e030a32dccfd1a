// Shared by the generator-family tests: an in-memory checkpoint store and the exact-resume check (a run killed
// after a few steps and resumed from its last checkpoint ends bit-identical to the uninterrupted run, samples
// included, and its masks are valid label levels).
import { expect } from "vitest";
import type { FamilyModel, FamilyState } from "../src/families/model.js";
import { demoSpadeConfig, LABEL_CLASSES, type SpadeConfig } from "../src/families/spade/config.js";
import { type TrainFamilyOptions, trainFamily } from "../src/families/train.js";
import type { CheckpointStore } from "../src/gan/checkpoint.js";
import { defaultGanConfig } from "../src/gan/config.js";
import { MASK_LEVELS } from "../src/gan/mask-encoding.js";
import { sample } from "../src/gan/sample.js";

/** Keeps the last saved checkpoint in memory (what a kill -9 leaves behind is the last committed one). */
export function memoryCheckpointStore(): CheckpointStore & { last?: Uint8Array } {
  const s = {
    last: undefined as Uint8Array | undefined,
    save(b: Uint8Array) {
      s.last = b.slice();
    },
    load() {
      return s.last;
    },
  };
  return s;
}

/** Weights and optimizer slots of a family state (plus nested parts' arrays, as `more` picks them). */
export function stateArrays(st: FamilyState, more: (st: FamilyState) => Float32Array[] = () => []): Float32Array[] {
  return [
    ...Object.values(st.weights).flatMap((w) => w.map((a) => a.data)),
    ...Object.values(st.optimizers).flatMap((o) => o.slots.map((a) => a.data)),
    ...more(st),
  ];
}

/**
 * Trains `base` straight through, and again killed after `killAfterSteps` steps then resumed from the store; expects
 * identical arrays, scalars and seeded samples (`samples` images, drawn in different batch sizes) with valid masks.
 */
export async function expectExactResume(
  base: Omit<TrainFamilyOptions, "checkpoint" | "maxStepsThisRun">,
  o: { killAfterSteps: number; resumedFromKimg: number; samples: number; arrays?: (st: FamilyState) => Float32Array[] },
): Promise<void> {
  const models: FamilyModel[] = [];
  try {
    const straight = await trainFamily(base);
    models.push(straight.model);
    const store = memoryCheckpointStore();
    (await trainFamily({ ...base, checkpoint: store, maxStepsThisRun: o.killAfterSteps })).model.dispose();
    const resumed = await trainFamily({ ...base, checkpoint: store });
    models.push(resumed.model);
    expect(resumed.resumedFromKimg).toBe(o.resumedFromKimg);
    const a = stateArrays(straight.model.state(), o.arrays);
    const b = stateArrays(resumed.model.state(), o.arrays);
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(b[i]).toEqual(a[i]);
    expect(resumed.model.state().scalars).toEqual(straight.model.state().scalars);
    const s1 = sample(resumed.model, o.samples, 7, { batchSize: 2 });
    const s2 = sample(straight.model, o.samples, 7, { batchSize: o.samples });
    expect(s1.images).toEqual(s2.images);
    const px = s1.size * s1.size;
    for (let p = 0; p < o.samples * px; p++) {
      expect(s1.labels[p]).toBeLessThan(4);
      expect(s1.images[p * 5 + 4]).toBeCloseTo(MASK_LEVELS[s1.labels[p]], 6);
    }
  } finally {
    for (const m of models) m.dispose();
  }
}

/** The smallest two-stage config the tests train: a 16x16 label-map PGAN and a narrow SPADE stage 2. */
export function tinySpadeConfig(o: Partial<SpadeConfig> = {}): SpadeConfig {
  const stage1 = defaultGanConfig({
    family: "pgan",
    resolution: 16,
    channels: LABEL_CLASSES,
    latentSize: 8,
    fmapBase: 32,
    fmapMax: 8,
    mbstdGroupSize: 2,
  });
  return demoSpadeConfig({ resolution: 16, stage1, zDim: 4, ngf: 4, spadeHidden: 8, ndf: 4, dLayers: 2, ...o });
}

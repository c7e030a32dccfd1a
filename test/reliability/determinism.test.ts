// Same seed, same result (issue 17.7): the "real" rows of a report changed between fresh runs because the
// validation hold-out sorted subjects by their keys, which are salted hashes (a fresh data dir gets a new
// de-identification salt). Here the same cohort is stored under two salts and the same small U-Net is
// trained on each through the segmenter service: weights and metrics must be identical.
import { createHash } from "node:crypto";
import { JobState, Mixture } from "@synthmri/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cohort,
  type Harness,
  phantomDataset,
  type Store,
  startHarness,
  startStore,
} from "../../services/segmenter/test/fixtures.js";

const CONFIG = {
  inputSize: 32,
  depth: 2,
  baseFilters: 4,
  deepSupervision: 1,
  epochs: 1,
  iterationsPerEpoch: 6,
  batchSize: 4,
  learningRate: 0.05,
  momentum: 0.9,
};

let store: Store;
let h: Harness;
beforeAll(async () => {
  store = await startStore();
  h = await startHarness(store);
}, 120_000);
afterAll(async () => {
  await h?.close();
  await store?.close();
});

async function trainOn(salt: string): Promise<{ weights: Buffer[]; metrics: Record<string, number> }> {
  const subjects = cohort(8, 11, [48, 48, 24]).map((s) => ({
    ...s,
    id: createHash("sha256").update(`${salt}:${s.id}`).digest("hex").slice(0, 16),
  }));
  const datasetId = await phantomDataset(store.artifacts, { subjects, testSubjects: 2 });
  const res = await h.segmenter.trainSegmenter({
    name: `salt ${salt}`,
    sources: [{ datasetId }],
    mixture: Mixture.EQUAL,
    runs: 1,
    baseSeed: 5,
    config: CONFIG,
  });
  const last = await h.waitJob(res.jobId);
  expect(last.state, last.errorMessage).toBe(JobState.SUCCEEDED);
  const id = `${res.modelIds[0]}.v1`;
  const manifest = await store.artifacts.getManifest("seg-model", id);
  const weights: Buffer[] = [];
  for (const path of Object.keys(manifest.checksums)
    .filter((p) => !p.endsWith(".json"))
    .sort())
    weights.push(await store.artifacts.readFile("seg-model", id, path));
  return { weights, metrics: last.progress?.metrics ?? {} };
}

describe("U-Net training is a function of the seed, not of the de-identification salt", () => {
  it("trains bit-identical weights and metrics on the same cohort stored under two salts", async () => {
    const a = await trainOn("a");
    const b = await trainOn("b");
    expect(a.weights.length).toBeGreaterThan(0);
    expect(b.weights.map((w) => createHash("sha256").update(w).digest("hex"))).toEqual(
      a.weights.map((w) => createHash("sha256").update(w).digest("hex")),
    );
    for (const k of ["loss", "val_dice_mean"]) expect(b.metrics[k], k).toBe(a.metrics[k]);
  });
});

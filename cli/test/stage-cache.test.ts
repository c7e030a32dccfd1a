import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactStore, MemoryObjectStore } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import { ArtifactStageStore, FileStageStore, StageCache, type StageStore, stageKey } from "../src/experiment/stage-cache.js";

function memoryStore(): MemoryObjectStore {
  const store = new MemoryObjectStore();
  void store.ensureBucket();
  return store;
}

const stores: [string, () => StageStore][] = [
  ["artifact store", () => new ArtifactStageStore(new ArtifactStore({ store: memoryStore() }))],
  ["directory", () => new FileStageStore(mkdtempSync(join(tmpdir(), "synthmri-stages-")))],
];

describe.each(stores)("stage cache on %s", (_name, make) => {
  it("runs a stage once and reuses it for the same material, in any key order", async () => {
    const cache = new StageCache(make());
    let calls = 0;
    const produce = async () => ({ datasetId: `ds-${++calls}` });
    const a = await cache.run("ingest", { size: 32, seed: 0 }, produce);
    const b = await cache.run("ingest", { seed: 0, size: 32 }, produce);
    expect(a).toMatchObject({ how: "ran", result: { datasetId: "ds-1" } });
    expect(b).toMatchObject({ how: "cached", result: { datasetId: "ds-1" } });
    const c = await cache.run("ingest", { size: 64, seed: 0 }, produce);
    expect(c).toMatchObject({ how: "ran", result: { datasetId: "ds-2" } });
    expect(calls).toBe(2);
  });

  it("redoes a stage whose cached result no longer verifies", async () => {
    const cache = new StageCache(make());
    let calls = 0;
    const produce = async () => ({ id: ++calls });
    await cache.run("s", 1, produce);
    const again = await cache.run("s", 1, produce, { verify: async () => false });
    expect(again).toMatchObject({ how: "ran", result: { id: 2 } });
    expect(await cache.run("s", 1, produce, { verify: async (r) => r.id === 2 })).toMatchObject({ how: "cached" });
  });

  it("re-attaches to the job of an interrupted run, or produces again when the job is gone", async () => {
    const store = make();
    const cache = new StageCache(store);
    // First run: submits a job, then "crashes" before the job ends.
    await expect(
      cache.run("train", { c: "real" }, async (ctx) => {
        await ctx.markPending("segmenter", "job-1", { modelIds: ["m1", "m2"] });
        throw new Error("interrupted");
      }),
    ).rejects.toThrow("interrupted");
    const pending = await store.getPending(stageKey("train", { c: "real" }));
    expect(pending).toMatchObject({ service: "segmenter", jobId: "job-1" });
    // Second run: resume finds the job and returns what it was going to produce; produce is not called.
    const resumed = await cache.run("train", { c: "real" }, async () => ({ modelIds: ["never"] }), {
      resume: async (p) => p.submitted as { modelIds: string[] },
    });
    expect(resumed).toMatchObject({ how: "resumed", result: { modelIds: ["m1", "m2"] } });
    expect(await store.getPending(stageKey("train", { c: "real" }))).toBeUndefined();
    // A gone job (resume -> undefined) means producing again.
    await cache
      .run("eval", 1, async (ctx) => {
        await ctx.markPending("evaluator", "job-9", {});
        throw new Error("crash");
      })
      .catch(() => undefined);
    const redone = await cache.run("eval", 1, async () => ({ ok: true }), { resume: async () => undefined });
    expect(redone).toMatchObject({ how: "ran", result: { ok: true } });
  });

  it("does not record a failed stage", async () => {
    const cache = new StageCache(make());
    await expect(cache.run("x", 1, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await cache.run("x", 1, async () => ({ v: 1 }))).toMatchObject({ how: "ran" });
  });
});

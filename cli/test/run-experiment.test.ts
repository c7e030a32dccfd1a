// The experiment driver with fake stages (no services): which stage starts when, what each gets, how a failure
// anywhere ends the run, and that a second run over the same stage cache reruns nothing.
import { ArtifactStore, MemoryObjectStore } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import type { ServiceClients } from "../src/experiment/clients.js";
import { runExperiment } from "../src/experiment/run-experiment.js";
import { type ExperimentSpec, conditionNames } from "../src/experiment/spec.js";
import { ArtifactStageStore, StageCache } from "../src/experiment/stage-cache.js";
import type { ExperimentContext, ExperimentStages } from "../src/experiment/stages/index.js";
import { ProgressBoard } from "../src/ui/progress-board.js";
import { loadPreset } from "./spec-helpers.js";

const clients = {
  addresses: { ingest: "i:1", generator: "g:1", segmenter: "s:1", evaluator: "e:1" },
} as unknown as ServiceClients;

function deferred<T>() {
  let resolve: (v: T) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise's continuations run (no timers). */
const settle = () => new Promise((r) => setImmediate(r));

function spec(): ExperimentSpec {
  const s = loadPreset("demo");
  s.synthetic = { ...s.synthetic, ensembleSizes: [1, 3], mixWithReal: [3] };
  return s;
}

function options(s: ExperimentSpec, cache = new StageCache(memoryStageStore()), out: string[] = []) {
  const board = new ProgressBoard({ write: (t: string) => out.push(t) });
  return { spec: s, experimentId: "exp", clients, cache, board, workDir: "/nowhere", outDir: "/nowhere", evaluatorWritesOutDir: false };
}

function memoryStageStore() {
  const store = new MemoryObjectStore();
  void store.ensureBucket();
  return new ArtifactStageStore(new ArtifactStore({ store }));
}

/** Fake stages that log what they are called with; the GAN waits for `gan` (so its order can be observed). */
function recordingStages(events: string[], gan: Promise<void>): ExperimentStages {
  return {
    data: async () => {
      events.push("data");
      return { datasetId: "real-ds", cohort: { kind: "phantom" } };
    },
    gan: async () => {
      events.push("gan:start");
      await gan;
      events.push("gan:done");
      return { ensembleId: "ens", memberJobIds: ["m0", "m1"] };
    },
    synthesize: async (_ctx, g, k) => {
      events.push(`synthesize:${k}:${g.ensembleId}`);
      return { members: k, datasetId: `syn-ds-${k}` };
    },
    segment: async (_ctx, condition, datasetIds) => {
      events.push(`segment:${condition}:${datasetIds.join("+")}`);
      return { condition, modelIds: [`${condition}-m1`, `${condition}-m2`] };
    },
    evaluate: async (_ctx, models, data) => {
      events.push(`evaluate:${models.condition}:${data.datasetId}`);
      return { condition: models.condition, evaluationIds: models.modelIds.map((m) => `ev-${m}`) };
    },
    report: async (_ctx, evaluations) => {
      events.push(`report:${evaluations.map((e) => e.condition).join(",")}`);
      return { reportId: "rep", report: {} as never };
    },
  };
}

describe("runExperiment (driver)", () => {
  it("trains the real condition while the GANs train, each synthetic condition once its dataset exists", async () => {
    const events: string[] = [];
    const gan = deferred<void>();
    const s = spec();
    const running = runExperiment(options(s), recordingStages(events, gan.promise));
    await settle();
    expect(events).toEqual(["data", "segment:real:real-ds", "gan:start", "evaluate:real:real-ds"]);
    gan.resolve();
    const result = await running;

    const after = events.slice(events.indexOf("gan:done"));
    expect(after.indexOf("synthesize:1:ens")).toBeLessThan(after.indexOf("segment:synthetic-1:syn-ds-1"));
    expect(after.indexOf("synthesize:3:ens")).toBeLessThan(after.indexOf("segment:synthetic-3:syn-ds-3"));
    expect(after).toContain("segment:real+synthetic-3:real-ds+syn-ds-3");
    expect(events.at(-1)).toBe(`report:${conditionNames(s).join(",")}`);
    expect(result).toMatchObject({
      datasetId: "real-ds",
      ensembleId: "ens",
      memberJobIds: ["m0", "m1"],
      synthetic: { "1": "syn-ds-1", "3": "syn-ds-3" },
      reportId: "rep",
    });
    expect(Object.keys(result.models)).toEqual(conditionNames(s));
    expect(result.evaluations["real+synthetic-3"]).toEqual(["ev-real+synthetic-3-m1", "ev-real+synthetic-3-m2"]);
  });

  it("fails at once when a condition fails while the GANs still train", async () => {
    const events: string[] = [];
    const gan = deferred<void>(); // never resolved: the run must not wait for it
    const stages = recordingStages(events, gan.promise);
    stages.segment = async (_ctx, condition) => {
      throw new Error(`segmenter lost ${condition}`);
    };
    await expect(runExperiment(options(spec()), stages)).rejects.toThrow("segmenter lost real");
    expect(events).not.toContain("report:");
  });

  it("reruns nothing on a second run over the same stage cache, and shows the rows as cached", async () => {
    const cache = new StageCache(memoryStageStore());
    let produced = 0;
    const cached = <T extends Record<string, unknown>>(ctx: ExperimentContext, stage: string, material: unknown, result: T) =>
      ctx.runStage({ log: stage, stage, material, produce: async () => (produced++, result) }).then((o) => o.result);
    const stages: ExperimentStages = {
      data: async (ctx) => ({ ...(await cached(ctx, "ingest", 1, { datasetId: "real-ds" })), cohort: {} }),
      gan: async (ctx, d) => {
        const r = await cached(ctx, "gan-ensemble", d.datasetId, { ensembleId: "ens", memberJobIds: [] as string[] });
        ctx.finishRow("gan-0", ctx.stages.at(-1)?.how ?? "ran", "");
        return r;
      },
      synthesize: async (ctx, g, k) => ({ members: k, ...(await cached(ctx, `synthetic:${k}`, g.ensembleId, { datasetId: `syn-${k}` })) }),
      segment: async (ctx, c, ids) => ({ condition: c, ...(await cached(ctx, `train:${c}`, ids, { modelIds: [`${c}-m`] })) }),
      evaluate: async (ctx, m) => ({
        condition: m.condition,
        ...(await cached(ctx, `evaluate:${m.condition}`, m.modelIds, { evaluationIds: [`${m.condition}-e`] })),
      }),
      report: async (ctx, evs) => ({ ...(await cached(ctx, "compare", evs, { reportId: "rep" })), report: {} as never }),
    };
    const s = spec();
    const first = await runExperiment(options(s, cache), stages);
    const ranFirst = produced;
    expect(first.stages.every((st) => st.how === "ran")).toBe(true);
    // ingest, GAN, 2 synthetic sets, compare, and train + evaluate per condition
    expect(ranFirst).toBe(5 + 2 * conditionNames(s).length);

    const out: string[] = [];
    const second = await runExperiment(options(s, cache, out), stages);
    expect(produced).toBe(ranFirst);
    expect(second.stages.map((st) => st.how)).toEqual(first.stages.map(() => "cached"));
    expect(second.evaluations).toEqual(first.evaluations);
    expect(out.join("")).toMatch(/GAN member 1\/\d+ .* cached/);
  });
});

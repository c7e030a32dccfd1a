// The experiment driver with fake stages (no services): which stage starts when, what each gets, how a failure
// anywhere ends the run, and that a second run over the same stage cache reruns nothing.
import { ArtifactStore, MemoryObjectStore } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import type { ServiceClients } from "../src/experiment/clients.js";
import { runExperiment } from "../src/experiment/run-experiment.js";
import { INTENSITY_BASELINE, conditionNames, planControlGans } from "../src/experiment/plan.js";
import type { ExperimentSpec } from "../src/experiment/spec.js";
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
  s.gan = { ...s.gan, members: 3 };
  s.synthetic = { ...s.synthetic, ensembleSizes: [1, 3], mixWithReal: [3] };
  s.segmenter = { ...s.segmenter, runs: 2 };
  s.controls = { modeDroppingFraction: 0, disjointHalves: false, equivalenceMargin: 0.05 };
  s.baselines = { intensityOnly: false };
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

const TRAIN_KEYS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"];

/** Fake stages that log what they are called with; the GAN waits for `gan` (so its order can be observed). */
function recordingStages(events: string[], gan: Promise<void>): ExperimentStages {
  return {
    data: async () => {
      events.push("data");
      return { datasetId: "real-ds", cohort: { kind: "phantom" }, trainSubjectKeys: TRAIN_KEYS };
    },
    gan: async () => {
      events.push("gan:start");
      await gan;
      events.push("gan:done");
      return { ensembleId: "ens", memberJobIds: ["m0", "m1"] };
    },
    controlGan: async (_ctx, _d, plan) => {
      events.push(`control-gan:${plan.gan}:${plan.subjectKeys.join(",")}`);
      return { ensembleId: `ens-${plan.gan}`, memberJobIds: [] };
    },
    synthesize: async (_ctx, g, members, label) => {
      events.push(`synthesize:${label}:${g.ensembleId}:${members.join(",")}`);
      return { members, datasetId: `syn-${g.ensembleId}-${members.join("-")}` };
    },
    quality: async (_ctx, _d, source, datasetId) => {
      events.push(`quality:${source}:${datasetId}`);
      return { source, datasetId, reportId: `q-${source}`, summary: {} };
    },
    segment: async (_ctx, condition, runs) => {
      events.push(`segment:${condition}:${runs.map((r) => r.join("+")).join("|")}`);
      return { condition, modelIds: runs.map((_, i) => `${condition}-m${i + 1}`) };
    },
    evaluate: async (_ctx, models, data) => {
      events.push(`evaluate:${models.condition}:${data.datasetId}`);
      return { condition: models.condition, evaluationIds: models.modelIds.map((m) => `ev-${m}`) };
    },
    baseline: async (_ctx, data, condition) => {
      events.push(`baseline:${condition}:${data.datasetId}`);
      return { condition, evaluationIds: [`ev-${condition}`] };
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
    expect(events).toEqual(["data", "segment:real:real-ds|real-ds", "gan:start", "evaluate:real:real-ds"]);
    gan.resolve();
    const result = await running;

    const after = events.slice(events.indexOf("gan:done"));
    const single = result.draws["synthetic-1"] as number[][];
    const set = (m: number[]) => `syn-ens-${m.join("-")}`;
    const singleRow = `segment:synthetic-1:${single.map(set).join("|")}`;
    expect(after.indexOf(`synthesize:synthetic-1:ens:${single[0]?.join(",")}`)).toBeLessThan(after.indexOf(singleRow));
    expect(after).toContain("segment:synthetic-3:syn-ens-0-1-2|syn-ens-0-1-2");
    expect(after).toContain("segment:real+synthetic-3:real-ds+syn-ens-0-1-2|real-ds+syn-ens-0-1-2");
    expect(events.at(-1)).toBe(`report:${conditionNames(s).join(",")}`);
    expect(result).toMatchObject({
      datasetId: "real-ds",
      ensembleId: "ens",
      memberJobIds: ["m0", "m1"],
      synthetic: { "synthetic-3": ["syn-ens-0-1-2", "syn-ens-0-1-2"] },
      reportId: "rep",
    });
    expect(result.synthetic["synthetic-1"]).toEqual(single.map(set));
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
      data: async (ctx) => ({
        ...(await cached(ctx, "ingest", 1, { datasetId: "real-ds" })),
        cohort: {},
        trainSubjectKeys: TRAIN_KEYS,
      }),
      gan: async (ctx, d) => {
        const r = await cached(ctx, "gan-ensemble", d.datasetId, { ensembleId: "ens", memberJobIds: [] as string[] });
        ctx.finishRow("gan-0", ctx.stages.at(-1)?.how ?? "ran", "");
        return r;
      },
      controlGan: async (ctx, _d, p) => cached(ctx, `gan-${p.gan}`, p, { ensembleId: `ens-${p.gan}`, memberJobIds: [] as string[] }),
      synthesize: async (ctx, g, m, label) => ({
        members: m,
        ...(await cached(ctx, `synthetic:${label}:${m.join(",")}`, g.ensembleId, { datasetId: `syn-${label}-${m.join("-")}` })),
      }),
      quality: async (ctx, _d, source, datasetId) => ({
        source,
        datasetId,
        summary: {},
        ...(await cached(ctx, `memorization:${source}`, datasetId, { reportId: `q-${source}` })),
      }),
      segment: async (ctx, c, runs) => ({ condition: c, ...(await cached(ctx, `train:${c}`, runs, { modelIds: [`${c}-m`] })) }),
      baseline: async (ctx, _d, c) => ({ condition: c, ...(await cached(ctx, `evaluate:${c}`, c, { evaluationIds: [`${c}-e`] })) }),
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
    // ingest, GAN, the distinct synthetic draws, compare, and train + evaluate per condition
    const draws = new Set(Object.entries(first.draws).flatMap(([k, d]) => d.map((m) => `${k}:${m.join(",")}`)));
    // plus one memorization check per synthetic source
    expect(ranFirst).toBe(3 + draws.size + 2 + 2 * conditionNames(s).length);

    const out: string[] = [];
    const second = await runExperiment(options(s, cache, out), stages);
    expect(produced).toBe(ranFirst);
    expect(second.stages.map((st) => st.how)).toEqual(first.stages.map(() => "cached"));
    expect(second.evaluations).toEqual(first.evaluations);
    expect(out.join("")).toMatch(/GAN member 1\/\d+ .* cached/);
  });
});

describe("runExperiment: controls and baseline", () => {
  it("trains each control GAN on its planned subjects, trains its row on that GAN's set, starts the baseline with the data", async () => {
    const events: string[] = [];
    const gan = deferred<void>();
    const s = spec();
    s.controls = { modeDroppingFraction: 0.25, disjointHalves: true, equivalenceMargin: 0.05 };
    s.baselines = { intensityOnly: true };
    const running = runExperiment(options(s), recordingStages(events, gan.promise));
    await settle();
    expect(events).toContain(`baseline:${INTENSITY_BASELINE}:real-ds`);
    const controls = planControlGans(s, TRAIN_KEYS);
    for (const c of controls) expect(events).toContain(`control-gan:${c.gan}:${c.subjectKeys.join(",")}`);
    // Control rows need only their own GAN: they run before the ensemble is done.
    expect(events).toContain("segment:control-half-a-gan:syn-ens-half-a-0|syn-ens-half-a-0");
    expect(events).not.toContain("gan:done");
    gan.resolve();
    const result = await running;
    expect(events.at(-1)).toBe(`report:${conditionNames(s).join(",")}`);
    expect(conditionNames(s)).toEqual([
      "real",
      "synthetic-1",
      "synthetic-3",
      "real+synthetic-3",
      INTENSITY_BASELINE,
      "control-mode-dropping-gan",
      "control-half-a-gan",
      "control-half-b-gan",
    ]);
    expect(result.controlGans).toEqual({
      "mode-dropping": "ens-mode-dropping",
      "half-a": "ens-half-a",
      "half-b": "ens-half-b",
    });
    expect(result.evaluations[INTENSITY_BASELINE]).toEqual([`ev-${INTENSITY_BASELINE}`]);
    // Every synthetic source gets its calibrated memorization check, controls included.
    expect(result.quality.map((q) => q.source).sort()).toEqual(
      ["control-half-a-gan", "control-half-b-gan", "control-mode-dropping-gan", "synthetic-1", "synthetic-3"].sort(),
    );
  });
});

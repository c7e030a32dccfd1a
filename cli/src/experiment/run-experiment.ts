// The experiment, stage by stage, all through the services' gRPC APIs:
//   cohort (phantom or --data) -> ingest -> GAN ensemble -> synthetic datasets from 1..N members
//   -> U-Nets per condition (R runs each) -> per-subject evaluation on the real test split -> Compare.
// Stages run as soon as their inputs exist (the real-only U-Net trains while the GANs train: they are
// different processes, so both cores work). Every stage goes through the StageCache.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  Correction,
  EmptyCasePolicy,
  GanFamily,
  JobState,
  type JobStatus,
  Mixture,
  type Report,
  Split,
} from "@synthmri/contracts";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";
import type { ServiceClients, ServiceKey } from "./clients.js";
import { followJob, isTerminal } from "./follow-job.js";
import { ProgressHistory } from "./progress-history.js";
import { conditionNames, type ExperimentSpec } from "./spec.js";
import type { PendingRecord, StageCache, StageOutcome } from "./stage-cache.js";
import type { ProgressBoard, RowState } from "../ui/progress-board.js";

export interface RunExperimentOptions {
  spec: ExperimentSpec;
  experimentId: string;
  clients: ServiceClients;
  cache: StageCache;
  board: ProgressBoard;
  /** Where phantom cohorts are written (must be readable by the ingest service). */
  workDir: string;
  /** The experiment's output directory (out/<id>); handed to Compare when the evaluator is local. */
  outDir: string;
  evaluatorWritesOutDir: boolean;
  signal?: AbortSignal;
}

export interface StageLog {
  stage: string;
  key: string;
  how: StageOutcome<Record<string, unknown>>["how"];
  seconds: number;
  result: Record<string, unknown>;
}

export interface ExperimentResult {
  datasetId: string;
  cohort: Record<string, unknown>;
  ensembleId: string;
  memberJobIds: string[];
  synthetic: Record<string, string>;
  models: Record<string, string[]>;
  evaluations: Record<string, string[]>;
  reportId: string;
  report: Report;
  stages: StageLog[];
  history: ProgressHistory;
}

const FAMILY: Record<ExperimentSpec["gan"]["family"], GanFamily> = {
  pgan: GanFamily.PGAN,
  dcgan: GanFamily.DCGAN,
  lsgan: GanFamily.LSGAN,
  hinge: GanFamily.HINGE,
};

function rowState(state: JobState): RowState {
  switch (state) {
    case JobState.QUEUED:
      return "queued";
    case JobState.RUNNING:
      return "running";
    case JobState.SUCCEEDED:
      return "done";
    case JobState.FAILED:
      return "failed";
    case JobState.CANCELLED:
      return "cancelled";
    default:
      return "waiting";
  }
}

/**
 * Submits a job, retrying when the call never reached a handler's answer because the connection dropped
 * (UNAVAILABLE, or INTERNAL "RST_STREAM" when a busy server reset it). A rare duplicate job is the price;
 * losing the experiment to a transport hiccup is worse.
 */
async function submit<T>(_what: string, call: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      const e = err as { code?: number; details?: string; message?: string };
      const transient =
        e.code === 14 || (e.code === 13 && /RST_STREAM|without gRPC status/.test(e.details ?? e.message ?? ""));
      if (!transient || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 2000 * i));
    }
  }
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 5;
}

export async function runExperiment(o: RunExperimentOptions): Promise<ExperimentResult> {
  const { spec, clients, cache, board } = o;
  const history = new ProgressHistory();
  const stages: StageLog[] = [];
  const where = (s: ServiceKey) => `${s}@${clients.addresses[s]}`;
  const conditions = conditionNames(spec);
  // Stages run concurrently; the first failure anywhere fails the whole run at once (no unhandled rejection,
  // no waiting for unrelated stages that can no longer matter).
  let fail: (err: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failure.catch(() => undefined);
  const track = <T>(p: Promise<T>): Promise<T> => {
    p.catch((err) => fail(err));
    return p;
  };
  const orFail = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failure]);

  const timed = async <T extends Record<string, unknown>>(
    stage: string,
    run: () => Promise<StageOutcome<T>>,
  ): Promise<T> => {
    const t0 = Date.now();
    const out = await run();
    stages.push({ stage, key: out.key, how: out.how, seconds: (Date.now() - t0) / 1000, result: out.result });
    return out.result;
  };
  const howOf = (stage: string) => stages.find((s) => s.stage === stage)?.how ?? "ran";

  /** Follows a job, drawing it on a board row; SUCCEEDED status back, JobFailed otherwise. */
  const watch = (service: ServiceKey, jobId: string, row: string, record?: (j: JobStatus) => void) =>
    followJob(clients.jobs[service], service, jobId, {
      signal: o.signal,
      onStatus: (j) => {
        record?.(j);
        const p = j.progress;
        const unit = p && p.total > 0 ? ` ${p.done}/${p.total} ${p.unit}` : "";
        board.update(row, {
          state: rowState(j.state),
          fraction: p?.fraction,
          message: `${p?.phase ? `${p.phase}${unit} ` : ""}${p?.message ?? ""}`.trim(),
        });
      },
    });

  /** Re-attaches to an interrupted stage's job when it still exists and has not failed. */
  const resumeJob =
    <T>(service: ServiceKey, row: string) =>
    async (pending: PendingRecord): Promise<T | undefined> => {
      try {
        const got = await clients.jobs[service].getJob({ jobId: pending.jobId });
        if (!got.job || (isTerminal(got.job.state) && got.job.state !== JobState.SUCCEEDED)) return undefined;
        board.log(`re-attaching to ${service} job ${pending.jobId} (${pending.stage}) of an interrupted run`);
        await watch(service, pending.jobId, row);
        return pending.submitted as T;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };

  const cachedRow = (row: string, how: string, message: string) => {
    if (how === "cached") board.update(row, { state: "cached", message });
    else board.update(row, { state: "done", message });
  };

  // ---- cohort + ingest ------------------------------------------------------------------------------------
  board.add("ingest", "ingest cohort", where("ingest"));
  const cohort =
    spec.data.source === "phantom"
      ? {
          kind: "phantom",
          subjects: spec.data.phantomSubjects,
          size: spec.data.phantomSize,
          seed: String(spec.seed),
        }
      : { kind: "directory", path: spec.data.path as string };
  const ingestMaterial = {
    cohort,
    maxSubjects: spec.data.maxSubjects,
    split: { seed: spec.seed, testCount: spec.data.testSubjects },
    sliceSize: spec.data.sliceSize,
  };
  const ingestOut = await timed("ingest", () =>
    cache
      .run(
        "ingest",
        ingestMaterial,
        async (ctx) => {
          let localPath = spec.data.path as string;
          if (cohort.kind === "phantom") {
            board.update("ingest", {
              state: "running",
              message: `writing ${spec.data.phantomSubjects} phantom subjects`,
            });
            localPath = writePhantomCohort(o.workDir, spec, ctx.key);
          }
          let datasetId = "";
          let jobId = "";
          for await (const res of clients.ingest.importDirectory(
            {
              source: { case: "localPath", value: localPath },
              name: `${spec.name}-cohort`,
              split: { seed: spec.seed, testCount: spec.data.testSubjects },
              preprocessing: { size: spec.data.sliceSize },
              maxSubjects: spec.data.maxSubjects,
              labels: { experiment: o.experimentId },
            },
            { signal: o.signal },
          )) {
            const j = res.job;
            if (j) {
              if (!jobId && j.id) {
                jobId = j.id;
                await ctx.markPending("ingest", jobId, {});
              }
              board.update("ingest", {
                state: rowState(j.state),
                fraction: j.progress?.fraction,
                message: j.progress?.message ?? "",
              });
              if (j.state === JobState.FAILED || j.state === JobState.CANCELLED) {
                throw new Error(`ingest job ${j.id} failed (${j.errorCode}): ${j.errorMessage}`);
              }
              if (j.outputs?.dataset_id) datasetId = j.outputs.dataset_id;
            }
            if (res.report?.datasetId) datasetId = res.report.datasetId;
          }
          if (!datasetId) throw new Error("ingest finished without a dataset id (ImportDirectory sent no report)");
          return { datasetId, jobId };
        },
        {
          verify: (r) => exists(() => clients.ingest.getDataset({ datasetId: r.datasetId as string })),
          resume: async (p) => {
            try {
              const got = await clients.jobs.ingest.getJob({ jobId: p.jobId });
              if (!got.job || (isTerminal(got.job.state) && got.job.state !== JobState.SUCCEEDED)) return undefined;
              const final = await watch("ingest", p.jobId, "ingest");
              const datasetId = final.outputs.dataset_id;
              return datasetId ? { datasetId, jobId: p.jobId } : undefined;
            } catch (err) {
              if (isNotFound(err)) return undefined;
              throw err;
            }
          },
        },
      )
      .then((out) => {
        cachedRow("ingest", out.how, `dataset ${out.result.datasetId}`);
        return out;
      }),
  );
  const datasetId = ingestOut.datasetId as string;
  const ds = await clients.ingest.getDataset({ datasetId });
  board.log(
    `dataset ${datasetId}: ${ds.dataset?.trainSlices ?? "?"} train / ${ds.dataset?.testSlices ?? "?"} test slices of ${ds.dataset?.sliceShape.join("x")}`,
  );

  // ---- rows for everything else, so the whole plan is visible from the start ---------------------------
  for (let i = 0; i < spec.gan.members; i++)
    board.add(`gan-${i}`, `GAN member ${i + 1}/${spec.gan.members}`, where("generator"));
  for (const k of spec.synthetic.ensembleSizes)
    board.add(`syn-${k}`, `synthetic set from ${k} GAN${k > 1 ? "s" : ""}`, where("generator"));
  for (const c of conditions) board.add(`train-${c}`, `U-Net ${c} x${spec.segmenter.runs}`, where("segmenter"));
  for (const c of conditions) board.add(`eval-${c}`, `evaluate ${c}`, where("evaluator"));
  board.add("compare", "compare conditions", where("evaluator"));

  // ---- U-Net training per condition (starts as soon as its datasets exist) ------------------------------
  const unetConfig = {
    inputSize: spec.data.sliceSize,
    depth: spec.segmenter.depth,
    baseFilters: spec.segmenter.baseFilters,
    maxFilters: spec.segmenter.maxFilters,
    deepSupervision: spec.segmenter.deepSupervision,
    epochs: spec.segmenter.epochs,
    iterationsPerEpoch: spec.segmenter.iterationsPerEpoch,
    batchSize: spec.segmenter.batchSize,
    learningRate: spec.segmenter.learningRate,
    momentum: spec.segmenter.momentum,
    // Only when set, so that stage keys of whole-slice experiments stay what they were.
    ...(spec.segmenter.patchSize ? { patchSize: spec.segmenter.patchSize } : {}),
  };
  const trainCondition = async (condition: string, datasetIds: string[]): Promise<string[]> => {
    const row = `train-${condition}`;
    const material = {
      datasetIds,
      runs: spec.segmenter.runs,
      seed: spec.seed,
      config: unetConfig,
      validationFraction: spec.segmenter.validationFraction,
      augmentation: spec.segmenter.augmentation,
      maxSlices: spec.segmenter.maxSlices,
    };
    const out = await timed(`train:${condition}`, () =>
      cache.run(
        `train:${condition}`,
        material,
        async (ctx) => {
          const res = await submit("TrainSegmenter", () =>
            clients.segmenter.trainSegmenter({
              sources: datasetIds.map((id) => ({
                datasetId: id,
                split: Split.TRAIN,
                maxSlices: spec.segmenter.maxSlices,
              })),
              mixture: Mixture.EQUAL,
              validationFraction: spec.segmenter.validationFraction,
              runs: spec.segmenter.runs,
              baseSeed: spec.seed,
              config: unetConfig,
              augmentation: { enabled: spec.segmenter.augmentation },
              name: condition,
              labels: { experiment: o.experimentId, condition },
            }),
          );
          const submitted = { modelIds: res.modelIds, jobId: res.jobId, runJobIds: res.runJobIds };
          await ctx.markPending("segmenter", res.jobId, submitted);
          board.update(row, { state: "queued", message: `job ${res.jobId}` });
          // Curves come from the run jobs; the row follows the parent.
          const runs = res.runJobIds.map((id, i) =>
            followJob(clients.jobs.segmenter, "segmenter", id, {
              signal: o.signal,
              onStatus: (j) => history.record("unet", `${condition} run ${i + 1}`, j),
            }).catch(() => undefined),
          );
          // The parent's progress carries the current run's metrics: keep them too (curves per condition).
          await watch("segmenter", res.jobId, row, (j) => history.record("unet", condition, j));
          await Promise.all(runs);
          return submitted;
        },
        {
          verify: async (r) => {
            try {
              const listed = await clients.segmenter.listModels({ jobId: r.jobId as string, page: { pageSize: 1000 } });
              const have = new Set(listed.models.map((m) => m.id));
              return (r.modelIds as string[]).every((id) => have.has(id));
            } catch (err) {
              if (isNotFound(err)) return false;
              throw err;
            }
          },
          resume: resumeJob("segmenter", row),
        },
      ),
    );
    cachedRow(row, howOf(`train:${condition}`), `${(out.modelIds as string[]).length} models`);
    return out.modelIds as string[];
  };

  // ---- evaluation per condition (every run's model on the real test subjects) ---------------------------
  const evaluateCondition = async (condition: string, modelIds: string[]): Promise<string[]> => {
    const row = `eval-${condition}`;
    board.update(row, { state: "queued" });
    const ids: string[] = [];
    let done = 0;
    for (const modelId of modelIds) {
      const out = await timed(`evaluate:${condition}:${done + 1}`, () =>
        cache.run(
          "evaluate",
          {
            modelId,
            datasetId,
            split: "test",
            emptyCasePolicy: spec.evaluation.emptyCasePolicy,
            tta: spec.evaluation.tta,
            condition,
          },
          async (ctx) => {
            const res = await submit("Evaluate", () =>
              clients.evaluator.evaluate({
                modelId,
                datasetId,
                split: Split.TEST,
                emptyCasePolicy:
                  spec.evaluation.emptyCasePolicy === "one" ? EmptyCasePolicy.ONE : EmptyCasePolicy.EXCLUDE,
                tta: spec.evaluation.tta,
                condition,
              }),
            );
            await ctx.markPending("evaluator", res.jobId, { evaluationId: res.evaluationId, jobId: res.jobId });
            await followJob(clients.jobs.evaluator, "evaluator", res.jobId, {
              signal: o.signal,
              onStatus: (j) =>
                board.update(row, {
                  state: rowState(j.state) === "done" ? "running" : rowState(j.state),
                  fraction: (done + (j.progress?.fraction ?? 0)) / modelIds.length,
                  message: `model ${done + 1}/${modelIds.length} ${j.progress?.message ?? ""}`,
                }),
            });
            return { evaluationId: res.evaluationId, jobId: res.jobId };
          },
          {
            verify: (r) => exists(() => clients.evaluator.getEvaluation({ evaluationId: r.evaluationId as string })),
            resume: resumeJob("evaluator", row),
          },
        ),
      );
      ids.push(out.evaluationId as string);
      done++;
      board.update(row, { fraction: done / modelIds.length });
    }
    const ev = await clients.evaluator.getEvaluation({ evaluationId: ids[ids.length - 1] as string });
    const dice = ev.evaluation?.dice ?? {};
    board.update(row, {
      state: "done",
      message: ["NCR", "ED", "ET"].map((c) => `${c} ${(dice[c]?.mean ?? Number.NaN).toFixed(2)}`).join(" "),
    });
    return ids;
  };

  const models: Record<string, string[]> = {};
  const evaluations: Record<string, string[]> = {};
  const conditionPipeline = async (condition: string, datasetIds: string[]) => {
    models[condition] = await trainCondition(condition, datasetIds);
    evaluations[condition] = await evaluateCondition(condition, models[condition]);
  };

  // Real-only runs alongside the GANs.
  const realPipeline = track(conditionPipeline("real", [datasetId]));

  // ---- GAN ensemble ---------------------------------------------------------------------------------------
  const ganConfig = {
    resolution: spec.gan.resolution || spec.data.sliceSize,
    startResolution: spec.gan.startResolution,
    latentDim: spec.gan.latentDim,
    kimgPerPhase: spec.gan.kimgPerPhase,
    totalKimg: spec.gan.totalKimg,
    batchSize: spec.gan.batchSize,
    learningRate: spec.gan.learningRate,
    fmapMax: spec.gan.fmapMax,
    fmapMin: spec.gan.fmapMin,
  };
  const ganOut = await orFail(
    timed("gan-ensemble", () =>
      cache.run(
        "gan-ensemble",
        { datasetId, family: spec.gan.family, members: spec.gan.members, seed: spec.seed, config: ganConfig },
        async (ctx) => {
          const res = await submit("TrainEnsemble", () =>
            clients.generator.trainEnsemble({
              datasetId,
              members: spec.gan.members,
              baseSeed: spec.seed,
              concurrency: spec.gan.concurrency,
              family: FAMILY[spec.gan.family],
              config: ganConfig,
              name: `${spec.name}-ensemble`,
            }),
          );
          const submitted = { ensembleId: res.ensembleId, jobId: res.jobId, memberJobIds: res.memberJobIds };
          await ctx.markPending("generator", res.jobId, submitted);
          await Promise.all([
            ...res.memberJobIds.map((id, i) =>
              watch("generator", id, `gan-${i}`, (j) => history.record("gan", `member ${i + 1}`, j)),
            ),
            followJob(clients.jobs.generator, "generator", res.jobId, { signal: o.signal }),
          ]);
          return submitted;
        },
        {
          verify: (r) => exists(() => clients.generator.getEnsemble({ ensembleId: r.ensembleId as string })),
          resume: resumeJob("generator", "gan-0"),
        },
      ),
    ),
  );
  const ensembleId = ganOut.ensembleId as string;
  const memberJobIds = (ganOut.memberJobIds as string[]) ?? [];
  for (let i = 0; i < spec.gan.members; i++) cachedRow(`gan-${i}`, howOf("gan-ensemble"), `ensemble ${ensembleId}`);

  // ---- synthetic datasets, then their conditions ----------------------------------------------------------
  const synthetic: Record<string, string> = {};
  const pipelines: Promise<void>[] = [realPipeline];
  for (const k of spec.synthetic.ensembleSizes) {
    const row = `syn-${k}`;
    const out = await orFail(
      timed(`synthetic:${k}`, () =>
        cache.run(
          "synthetic",
          {
            ensembleId,
            members: k,
            images: spec.synthetic.images,
            seed: spec.seed,
            outlierFilter: spec.synthetic.outlierFilter,
          },
          async (ctx) => {
            const res = await submit("CreateSyntheticDataset", () =>
              clients.generator.createSyntheticDataset({
                source: { ensembleId, memberCount: k },
                count: spec.synthetic.images,
                seed: spec.seed,
                outlierFilter: { enabled: spec.synthetic.outlierFilter },
                name: `${spec.name}-synthetic-${k}`,
                labels: { experiment: o.experimentId, gans: String(k) },
              }),
            );
            await ctx.markPending("generator", res.jobId, { datasetId: res.datasetId, jobId: res.jobId });
            await watch("generator", res.jobId, row);
            return { datasetId: res.datasetId, jobId: res.jobId };
          },
          {
            verify: (r) => exists(() => clients.ingest.getDataset({ datasetId: r.datasetId as string })),
            resume: resumeJob("generator", row),
          },
        ),
      ),
    );
    synthetic[String(k)] = out.datasetId as string;
    cachedRow(row, howOf(`synthetic:${k}`), `dataset ${out.datasetId}`);
    pipelines.push(track(conditionPipeline(`synthetic-${k}`, [out.datasetId as string])));
    if (spec.synthetic.mixWithReal.includes(k)) {
      pipelines.push(track(conditionPipeline(`real+synthetic-${k}`, [datasetId, out.datasetId as string])));
    }
  }
  await orFail(Promise.all(pipelines));

  // ---- Compare --------------------------------------------------------------------------------------------
  // Besides every condition vs real: each ensemble of N > 1 GANs vs one GAN (the seed's "N GANs > 1 GAN").
  const extraComparisons = spec.synthetic.ensembleSizes.includes(1)
    ? spec.synthetic.ensembleSizes.filter((k) => k > 1).map((k) => ({ a: `synthetic-${k}`, b: "synthetic-1" }))
    : [];
  const compareOut = await timed("compare", () =>
    cache.run(
      "compare",
      {
        conditions: conditions.map((c) => ({ name: c, evaluationIds: evaluations[c] })),
        permutationSamples: spec.evaluation.permutationSamples,
        seed: spec.seed,
        ...(extraComparisons.length ? { extraComparisons } : {}),
      },
      async (ctx) => {
        const res = await submit("Compare", () =>
          clients.evaluator.compare({
            conditions: conditions.map((c) => ({ name: c, evaluationIds: evaluations[c] })),
            reference: "real",
            extraComparisons,
            permutation: { samples: spec.evaluation.permutationSamples, seed: spec.seed },
            correction: Correction.BONFERRONI,
            title: `${spec.name}: U-Net Dice on real test subjects by training data`,
            outputDir: o.evaluatorWritesOutDir ? o.outDir : "",
          }),
        );
        await ctx.markPending("evaluator", res.jobId, { reportId: res.reportId, jobId: res.jobId });
        await watch("evaluator", res.jobId, "compare");
        return { reportId: res.reportId, jobId: res.jobId };
      },
      {
        verify: (r) => exists(() => clients.evaluator.getReport({ reportId: r.reportId as string })),
        resume: resumeJob("evaluator", "compare"),
      },
    ),
  );
  const reportId = compareOut.reportId as string;
  const got = await clients.evaluator.getReport({ reportId });
  if (!got.report) throw new Error(`evaluator returned no report for ${reportId}`);
  cachedRow("compare", howOf("compare"), `report ${reportId}`);

  return {
    datasetId,
    cohort,
    ensembleId,
    memberJobIds,
    synthetic,
    models,
    evaluations,
    reportId,
    report: got.report,
    stages,
    history,
  };
}

async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Writes the phantom cohort once per content key (the ingest service reads it from this directory). */
function writePhantomCohort(workDir: string, spec: ExperimentSpec, key: string): string {
  const dir = join(workDir, "cohorts", `phantom-${key.slice(0, 16)}`);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < spec.data.phantomSubjects; i++) {
    const s = generatePhantomSubject(i, { size: spec.data.phantomSize, seed: String(spec.seed) });
    const sd = join(dir, s.id);
    mkdirSync(sd, { recursive: true });
    for (const [name, bytes] of Object.entries(phantomSubjectFiles(s))) writeFileSync(join(sd, name), bytes);
  }
  return dir;
}

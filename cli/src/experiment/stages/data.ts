// Stage 1, data: the cohort (phantom subjects written here, or a BraTS directory) imported by the ingest service
// into a dataset with a seeded train/test split.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JobState, Origin, Split } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";
import { isTerminal } from "../follow-job.js";
import type { ExperimentSpec } from "../spec.js";
import type { ExperimentContext } from "./context.js";
import { exists, isNotFound, rowState } from "./job-calls.js";

export interface DataRefs {
  /** The ingested (real) dataset every condition is evaluated on. */
  datasetId: string;
  /** Where the cohort came from (for the experiment manifest). */
  cohort: Record<string, unknown>;
  /** De-identified keys of the train-split subjects (the control GANs train on subsets of them). */
  trainSubjectKeys: string[];
}

export const DATA_ROW = "ingest";

export function describeCohort(spec: ExperimentSpec): Record<string, unknown> {
  if (spec.data.source === "dataset") return { kind: "dataset", datasetId: spec.data.datasetId as string };
  return spec.data.source === "phantom"
    ? { kind: "phantom", subjects: spec.data.phantomSubjects, size: spec.data.phantomSize, seed: String(spec.seed) }
    : { kind: "directory", path: spec.data.path as string };
}

/** data.source: dataset — a cohort ingested before (`synthmri ingest`): checked, not imported again. */
async function useIngestedDataset(ctx: ExperimentContext): Promise<DataRefs> {
  const { spec, clients, board } = ctx;
  const datasetId = spec.data.datasetId as string;
  board.add(DATA_ROW, "ingested dataset", ctx.where("ingest"));
  let ds: Awaited<ReturnType<typeof clients.ingest.getDataset>>["dataset"];
  try {
    ds = (await clients.ingest.getDataset({ datasetId })).dataset;
  } catch (err) {
    if (isNotFound(err))
      throw new InvalidInput(
        `data.datasetId: dataset ${datasetId} does not exist in this deployment ('synthmri datasets list' shows the ingested ones)`,
      );
    throw err;
  }
  if (ds?.origin === Origin.SYNTHETIC)
    throw new InvalidInput(`data.datasetId: ${datasetId} is a synthetic dataset; give an ingested (real) cohort`);
  const side = ds?.sliceShape[0]; // [h, w, c]
  if (side !== undefined && side !== spec.data.sliceSize)
    throw new InvalidInput(
      `data.sliceSize: ${spec.data.sliceSize} differs from dataset ${datasetId}'s ${ds?.sliceShape.join("x")} slices: set data.sliceSize: ${side}, or ingest again with --size ${spec.data.sliceSize}`,
    );
  if (!ds?.testSlices)
    throw new InvalidInput(`data.datasetId: dataset ${datasetId} has no held-out (test) subjects to evaluate on`);
  board.update(DATA_ROW, { state: "done", fraction: 1, message: `dataset ${datasetId}` });
  board.log(
    `dataset ${datasetId} (ingested before): ${ds.trainSlices} train / ${ds.testSlices} test slices of ${ds.sliceShape.slice(0, 2).join("x")}`,
  );
  const trainSubjectKeys = (ds.subjects ?? []).filter((s) => s.split === Split.TRAIN).map((s) => s.key);
  return { datasetId, cohort: describeCohort(spec), trainSubjectKeys };
}

export async function ingestCohort(ctx: ExperimentContext): Promise<DataRefs> {
  const { spec, clients, board } = ctx;
  if (spec.data.source === "dataset") return useIngestedDataset(ctx);
  board.add(DATA_ROW, "ingest cohort", ctx.where("ingest"));
  const cohort = describeCohort(spec);
  const out = await ctx.runStage({
    log: "ingest",
    stage: "ingest",
    material: {
      cohort,
      maxSubjects: spec.data.maxSubjects,
      split: { seed: spec.seed, testCount: spec.data.testSubjects },
      sliceSize: spec.data.sliceSize,
    },
    produce: async (stage) => {
      let localPath = spec.data.path as string;
      if (cohort.kind === "phantom") {
        board.update(DATA_ROW, { state: "running", message: `writing ${spec.data.phantomSubjects} phantom subjects` });
        localPath = writePhantomCohort(ctx.workDir, spec, stage.key);
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
          labels: { experiment: ctx.experimentId },
        },
        { signal: ctx.signal },
      )) {
        const j = res.job;
        if (j) {
          if (!jobId && j.id) {
            jobId = j.id;
            await stage.markPending("ingest", jobId, {});
          }
          board.update(DATA_ROW, {
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
    verify: (r) => exists(() => clients.ingest.getDataset({ datasetId: r.datasetId })),
    // ImportDirectory's submit answer carries no dataset id: it comes from the finished job's outputs.
    resume: async (p) => {
      try {
        const got = await clients.jobs.ingest.getJob({ jobId: p.jobId });
        if (!got.job || (isTerminal(got.job.state) && got.job.state !== JobState.SUCCEEDED)) return undefined;
        const final = await ctx.watch("ingest", p.jobId, DATA_ROW);
        const datasetId = final.outputs.dataset_id;
        return datasetId ? { datasetId, jobId: p.jobId } : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
  });
  const datasetId = out.result.datasetId;
  ctx.finishRow(DATA_ROW, out.how, `dataset ${datasetId}`);
  const ds = await clients.ingest.getDataset({ datasetId, includeSubjects: true });
  board.log(
    `dataset ${datasetId}: ${ds.dataset?.trainSlices ?? "?"} train / ${ds.dataset?.testSlices ?? "?"} test slices of ${ds.dataset?.sliceShape.join("x")}`,
  );
  const trainSubjectKeys = (ds.dataset?.subjects ?? []).filter((s) => s.split === Split.TRAIN).map((s) => s.key);
  return { datasetId, cohort, trainSubjectKeys };
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

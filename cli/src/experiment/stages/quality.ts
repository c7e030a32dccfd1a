// Stage 3b, quality: the memorization gate on each synthetic source (its first run's dataset), with the NCC
// threshold calibrated on real data (percentile 99 of real held-out vs real training slices), so the report
// shows how close synthetic images come to training slices next to how close never-seen real slices come.
import type { ExperimentContext } from "./context.js";
import type { DataRefs } from "./data.js";
import { exists, submit } from "./job-calls.js";

/** The percentile of real held-out max NCC that becomes the memorization threshold. */
export const MEMORIZATION_PERCENTILE = 99;

export interface QualityRefs {
  source: string;
  datasetId: string;
  reportId: string;
  /** The evaluator's headline numbers (ncc_threshold, memorized_fraction, held_out_* and synthetic_* quantiles). */
  summary: Record<string, number>;
}

export const qualityRow = "memorization";

export function addQualityRow(ctx: ExperimentContext): void {
  ctx.board.add(qualityRow, "memorization gate (calibrated)", ctx.where("evaluator"));
}

export async function memorizationCheck(
  ctx: ExperimentContext,
  data: DataRefs,
  source: string,
  datasetId: string,
): Promise<QualityRefs> {
  const { clients } = ctx;
  // The check compares images of one size: a GAN stopped before its last growth phase samples smaller images
  // than the real slices. Then the source is reported as not checked (n/a) instead of failing the experiment.
  const [syn, real] = await Promise.all(
    [datasetId, data.datasetId].map(async (id) => (await clients.ingest.getDataset({ datasetId: id })).dataset),
  );
  const side = (d: typeof syn) => (d?.sliceShape ?? []).slice(0, 2).join("x");
  if (syn && real && side(syn) !== side(real)) {
    ctx.board.log(
      `memorization: ${source} not checked: its images are ${side(syn)}, the real slices ${side(real)} (let the GANs grow to the slice size)`,
    );
    return { source, datasetId, reportId: "", summary: {} };
  }
  const out = await ctx.runStage({
    log: `memorization:${source}`,
    stage: "memorization",
    material: { synthetic: datasetId, real: data.datasetId, percentile: MEMORIZATION_PERCENTILE },
    produce: async (stage) => {
      const res = await submit(() =>
        clients.evaluator.memorizationReport({
          syntheticDatasetId: datasetId,
          realDatasetId: data.datasetId,
          calibratePercentile: MEMORIZATION_PERCENTILE,
        }),
      );
      await stage.markPending("evaluator", res.jobId, { reportId: res.reportId, jobId: res.jobId });
      await ctx.watch("evaluator", res.jobId, qualityRow);
      return { reportId: res.reportId, jobId: res.jobId };
    },
    verify: (r) => exists(() => clients.evaluator.getReport({ reportId: r.reportId })),
    resume: ctx.resumeJob("evaluator", qualityRow),
  });
  const got = await clients.evaluator.getReport({ reportId: out.result.reportId });
  const summary = { ...(got.report?.summary ?? {}) };
  ctx.board.update(qualityRow, {
    state: "running",
    message: `${source}: ${(100 * (summary.memorized_fraction ?? Number.NaN)).toFixed(1)} % over NCC ${(summary.ncc_threshold ?? Number.NaN).toFixed(3)}`,
  });
  return { source, datasetId, reportId: out.result.reportId, summary };
}

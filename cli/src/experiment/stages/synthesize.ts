// Stage 3, synthesize: a synthetic dataset from chosen members of a GAN ensemble (the members a U-Net run drew,
// or the single member of a control GAN). Identical draws share one dataset through the stage cache.
import { CheckpointChoice } from "@synthmri/contracts";
import type { ExperimentContext } from "./context.js";
import type { GanRefs } from "./gan.js";
import { exists, submit } from "./job-calls.js";

export interface SyntheticRefs {
  /** The ensemble members the images came from. */
  members: number[];
  datasetId: string;
}

/**
 * The outlier filter's threshold: percentile 99 of the norms of real held-out slices under the training
 * slices' statistics (calibrated per dataset, issue 16), instead of seed 001's 500 tuned on its own data.
 */
export const OUTLIER_PERCENTILE = 99;

/** One board row per synthetic source (e.g. "synthetic-3": every run's draw of 3 GANs). */
export const syntheticRow = (label: string) => `syn-${label}`;

export function addSyntheticRows(ctx: ExperimentContext, labels: string[]): void {
  for (const label of labels) ctx.board.add(syntheticRow(label), `synthetic sets ${label}`, ctx.where("generator"));
}

export async function synthesizeDataset(
  ctx: ExperimentContext,
  gan: GanRefs,
  members: number[],
  label: string,
): Promise<SyntheticRefs> {
  const { spec, clients } = ctx;
  const { ensembleId } = gan;
  const row = syntheticRow(label);
  const bestSwd = spec.synthetic.checkpoint === "best-swd";
  const out = await ctx.runStage({
    log: `synthetic:${label}:${members.join(",")}`,
    stage: "synthetic",
    material: {
      ensembleId,
      members,
      images: spec.synthetic.images,
      seed: spec.seed,
      outlierFilter: spec.synthetic.outlierFilter,
      ...(spec.synthetic.outlierFilter ? { outlierPercentile: OUTLIER_PERCENTILE } : {}),
      // Only when set, so the datasets of specs without it keep their cache entries.
      ...(bestSwd ? { checkpoint: "best-swd" } : {}),
    },
    produce: async (stage) => {
      const res = await submit(() =>
        clients.generator.createSyntheticDataset({
          source: {
            ensembleId,
            members,
            checkpoint: bestSwd ? CheckpointChoice.BEST_SWD : CheckpointChoice.UNSPECIFIED,
          },
          count: spec.synthetic.images,
          seed: spec.seed,
          outlierFilter: spec.synthetic.outlierFilter
            ? { enabled: true, calibratePercentile: OUTLIER_PERCENTILE }
            : { enabled: false },
          name: `${spec.name}-${label}-m${members.join("-")}`,
          labels: { experiment: ctx.experimentId, gans: String(members.length), members: members.join(",") },
        }),
      );
      await stage.markPending("generator", res.jobId, { datasetId: res.datasetId, jobId: res.jobId });
      await ctx.watch("generator", res.jobId, row);
      return { datasetId: res.datasetId, jobId: res.jobId };
    },
    verify: (r) => exists(() => clients.ingest.getDataset({ datasetId: r.datasetId })),
    resume: ctx.resumeJob("generator", row),
  });
  ctx.board.update(row, { message: `members ${members.join(",")}: dataset ${out.result.datasetId}` });
  return { members, datasetId: out.result.datasetId };
}

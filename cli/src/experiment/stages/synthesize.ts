// Stage 3, synthesize: one synthetic dataset per ensemble size k (images sampled from k of the GAN members).
import type { ExperimentContext } from "./context.js";
import type { GanRefs } from "./gan.js";
import { exists, submit } from "./job-calls.js";

export interface SyntheticRefs {
  /** How many GAN members the images came from. */
  members: number;
  datasetId: string;
}

export const syntheticRow = (members: number) => `syn-${members}`;

export function addSyntheticRows(ctx: ExperimentContext): void {
  for (const k of ctx.spec.synthetic.ensembleSizes)
    ctx.board.add(syntheticRow(k), `synthetic set from ${k} GAN${k > 1 ? "s" : ""}`, ctx.where("generator"));
}

export async function synthesizeDataset(ctx: ExperimentContext, gan: GanRefs, members: number): Promise<SyntheticRefs> {
  const { spec, clients } = ctx;
  const { ensembleId } = gan;
  const row = syntheticRow(members);
  const out = await ctx.runStage({
    log: `synthetic:${members}`,
    stage: "synthetic",
    material: {
      ensembleId,
      members,
      images: spec.synthetic.images,
      seed: spec.seed,
      outlierFilter: spec.synthetic.outlierFilter,
    },
    produce: async (stage) => {
      const res = await submit(() =>
        clients.generator.createSyntheticDataset({
          source: { ensembleId, memberCount: members },
          count: spec.synthetic.images,
          seed: spec.seed,
          outlierFilter: { enabled: spec.synthetic.outlierFilter },
          name: `${spec.name}-synthetic-${members}`,
          labels: { experiment: ctx.experimentId, gans: String(members) },
        }),
      );
      await stage.markPending("generator", res.jobId, { datasetId: res.datasetId, jobId: res.jobId });
      await ctx.watch("generator", res.jobId, row);
      return { datasetId: res.datasetId, jobId: res.jobId };
    },
    verify: (r) => exists(() => clients.ingest.getDataset({ datasetId: r.datasetId })),
    resume: ctx.resumeJob("generator", row),
  });
  ctx.finishRow(row, out.how, `dataset ${out.result.datasetId}`);
  return { members, datasetId: out.result.datasetId };
}

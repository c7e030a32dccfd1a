// Stage 2, GAN: an ensemble of GAN members trained on the real dataset's train split (one row per member), and
// the control GANs (single GANs of the same configuration that see only some of the training subjects).
import { GanFamily, MaskEncoding } from "@synthmri/contracts";
import { type GanEnsembleRequest, jobNameOf } from "../../kube/scale-out.js";
import { followJob } from "../follow-job.js";
import type { ControlGanPlan } from "../plan.js";
import type { ExperimentSpec } from "../spec.js";
import type { ExperimentContext } from "./context.js";
import type { DataRefs } from "./data.js";
import { exists, submit } from "./job-calls.js";

export interface GanRefs {
  ensembleId: string;
  memberJobIds: string[];
}

const FAMILY: Record<ExperimentSpec["gan"]["family"], GanFamily> = {
  pgan: GanFamily.PGAN,
  dcgan: GanFamily.DCGAN,
  lsgan: GanFamily.LSGAN,
  hinge: GanFamily.HINGE,
  spade2stage: GanFamily.SPADE2STAGE,
  stylegan2: GanFamily.STYLEGAN2,
  ddpm: GanFamily.DDPM,
};

const MASK_ENCODING: Record<ExperimentSpec["gan"]["maskEncoding"], MaskEncoding> = {
  level: MaskEncoding.LEVEL,
  onehot: MaskEncoding.ONEHOT,
  regions: MaskEncoding.REGIONS,
};

export const ganRow = (member: number) => `gan-${member}`;
export const controlGanRow = (gan: string) => `gan-control-${gan}`;
const rowsOf = (members: number) => Array.from({ length: members }, (_, i) => ganRow(i));

export function addGanRows(ctx: ExperimentContext, controls: ControlGanPlan["gan"][] = []): void {
  const { members } = ctx.spec.gan;
  for (let i = 0; i < members; i++) ctx.board.add(ganRow(i), `GAN member ${i + 1}/${members}`, ctx.where("generator"));
  for (const c of controls) ctx.board.add(controlGanRow(c), `control GAN ${c}`, ctx.where("generator"));
}

/** The GAN hyper-parameters of the spec (every member and every control GAN). */
export function ganConfig(spec: ExperimentSpec) {
  return {
    resolution: spec.gan.resolution || spec.data.sliceSize,
    startResolution: spec.gan.startResolution,
    latentDim: spec.gan.latentDim,
    kimgPerPhase: spec.gan.kimgPerPhase,
    totalKimg: spec.gan.totalKimg,
    batchSize: spec.gan.batchSize,
    learningRate: spec.gan.learningRate,
    fmapMax: spec.gan.fmapMax,
    fmapMin: spec.gan.fmapMin,
    generatorEmaDecay: spec.gan.emaDecay,
    // Only when not the default, so the stage-cache keys of level runs stay as they were.
    ...(spec.gan.maskEncoding !== "level" ? { maskEncoding: MASK_ENCODING[spec.gan.maskEncoding] } : {}),
  };
}

export async function trainGanEnsemble(ctx: ExperimentContext, data: DataRefs): Promise<GanRefs> {
  const { spec, clients } = ctx;
  const { datasetId } = data;
  const config = ganConfig(spec);
  const out = await ctx.runStage({
    log: "gan-ensemble",
    stage: "gan-ensemble",
    material: { datasetId, family: spec.gan.family, members: spec.gan.members, seed: spec.seed, config },
    produce: async (stage) => {
      const request = {
        datasetId,
        members: spec.gan.members,
        baseSeed: spec.seed,
        concurrency: spec.gan.concurrency,
        family: FAMILY[spec.gan.family],
        config,
        name: `${spec.name}-ensemble`,
      };
      if (ctx.scaleOut) return trainOnCluster(ctx, request, ["ensemble"], rowsOf(spec.gan.members));
      const res = await submit(() => clients.generator.trainEnsemble(request));
      const submitted = { ensembleId: res.ensembleId, jobId: res.jobId, memberJobIds: res.memberJobIds };
      await stage.markPending("generator", res.jobId, submitted);
      await Promise.all([
        ...res.memberJobIds.map((id, i) =>
          ctx.watch("generator", id, ganRow(i), (j) => ctx.history.record("gan", `member ${i + 1}`, j)),
        ),
        followJob(clients.jobs.generator, "generator", res.jobId, { signal: ctx.signal }),
      ]);
      return submitted;
    },
    verify: (r) => exists(() => clients.generator.getEnsemble({ ensembleId: r.ensembleId })),
    resume: ctx.resumeJob("generator", ganRow(0)),
  });
  const { ensembleId } = out.result;
  for (let i = 0; i < spec.gan.members; i++) ctx.finishRow(ganRow(i), out.how, `ensemble ${ensembleId}`);
  return { ensembleId, memberJobIds: out.result.memberJobIds ?? [] };
}

/** One control GAN: an ensemble of one, of the spec's configuration, trained on `plan.subjectKeys` only. */
export async function trainControlGan(ctx: ExperimentContext, data: DataRefs, plan: ControlGanPlan): Promise<GanRefs> {
  const { spec, clients } = ctx;
  const { datasetId } = data;
  const row = controlGanRow(plan.gan);
  const config = { ...ganConfig(spec), trainSubjectKeys: plan.subjectKeys };
  const out = await ctx.runStage({
    log: `gan-control:${plan.gan}`,
    stage: "gan-ensemble",
    material: { datasetId, family: spec.gan.family, members: 1, seed: plan.seed, config },
    produce: async (stage) => {
      const request = {
        datasetId,
        members: 1,
        baseSeed: plan.seed,
        concurrency: 1,
        family: FAMILY[spec.gan.family],
        config,
        name: `${spec.name}-control-${plan.gan}`,
      };
      if (ctx.scaleOut) return trainOnCluster(ctx, request, ["control", plan.gan], [row]);
      const res = await submit(() => clients.generator.trainEnsemble(request));
      const submitted = { ensembleId: res.ensembleId, jobId: res.jobId, memberJobIds: res.memberJobIds };
      await stage.markPending("generator", res.jobId, submitted);
      await Promise.all([
        ...res.memberJobIds.map((id) =>
          ctx.watch("generator", id, row, (j) => ctx.history.record("gan", `control ${plan.gan}`, j)),
        ),
        followJob(clients.jobs.generator, "generator", res.jobId, { signal: ctx.signal }),
      ]);
      return submitted;
    },
    verify: (r) => exists(() => clients.generator.getEnsemble({ ensembleId: r.ensembleId })),
    resume: ctx.resumeJob("generator", row),
  });
  ctx.finishRow(row, out.how, `${plan.subjectKeys.length} subjects, ensemble ${out.result.ensembleId}`);
  return { ensembleId: out.result.ensembleId, memberJobIds: out.result.memberJobIds ?? [] };
}

/** The same ensemble as one Kubernetes Indexed Job, a pod per member (spec executor: kubernetes; see cli/src/kube). */
async function trainOnCluster(
  ctx: ExperimentContext,
  request: Omit<GanEnsembleRequest, "jobName">,
  job: string[],
  rows: string[],
) {
  for (const row of rows) ctx.board.update(row, { state: "queued", message: "Kubernetes Job, a pod per member" });
  const r = await ctx.scaleOut!.trainGanEnsemble(
    { ...request, jobName: jobNameOf(ctx.experimentId, ...job) },
    ctx.signal,
  );
  return { ensembleId: r.ensembleId, jobId: r.jobId, memberJobIds: [] as string[] };
}

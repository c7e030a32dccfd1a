// The work of each job kind, shared by the RPCs that start jobs and by recover() after a restart (params are
// persisted with the job, ids included, so a resumed job writes the artifact the caller was promised).
import type { AnyJobWork, JobContext } from "@synthmri/platform";
import { type CompareParams, runCompare } from "../domain/compare.js";
import { type EvaluateParams, runEvaluation } from "../domain/evaluate.js";
import { EVALUATION_KIND } from "../domain/evaluation-store.js";
import { type MemorizationParams, runMemorization } from "../domain/memorization.js";
import { type QualityParams, runQuality } from "../domain/quality.js";
import { REPORT_KIND, type StoredReport } from "../domain/report-store.js";
import type { EvaluatorDeps } from "../deps.js";
import type { JobResult } from "@synthmri/rpc";

export const JOB_KINDS = { evaluate: "evaluate", compare: "compare", quality: "quality", memorization: "memorization" };

function reportResult(r: StoredReport): JobResult {
  return { outputs: { report_id: r.id }, artifacts: [r.manifest] };
}

function control(ctx: JobContext<unknown>) {
  return { signal: ctx.signal, progress: ctx.progress };
}

export function jobWorks(deps: EvaluatorDeps) {
  const provenance = { service: "evaluator", ...deps.provenance };
  // A job resumed after a restart may have committed its artifact just before the process stopped.
  const committed = async (
    ctx: JobContext<unknown>,
    kind: string,
    id: string,
    role: string,
  ): Promise<JobResult | null> => {
    if (!ctx.resumed || !(await deps.artifacts.tryGetManifest(kind, id))) return null;
    return { outputs: { [role]: id }, artifacts: [await deps.artifacts.manifestRef(kind, id)] };
  };
  const evaluate = async (ctx: JobContext<EvaluateParams>): Promise<JobResult> => {
    const done = await committed(ctx, EVALUATION_KIND, ctx.params.evaluationId, "evaluation_id");
    if (done) return done;
    const r = await runEvaluation({ ...deps, provenance: { ...provenance, jobId: ctx.id } }, ctx.params, control(ctx));
    return { outputs: { evaluation_id: r.id, kind: EVALUATION_KIND }, artifacts: [r.manifest] };
  };
  const compare = async (ctx: JobContext<CompareParams>) =>
    (await committed(ctx, REPORT_KIND, ctx.params.reportId, "report_id")) ??
    reportResult(
      await runCompare(
        { artifacts: deps.artifacts, provenance: { ...provenance, jobId: ctx.id } },
        ctx.params,
        control(ctx),
      ),
    );
  const quality = async (ctx: JobContext<QualityParams>) =>
    (await committed(ctx, REPORT_KIND, ctx.params.reportId, "report_id")) ??
    reportResult(
      await runQuality(
        {
          source: deps.source,
          artifacts: deps.artifacts,
          settings: deps.quality,
          provenance: { ...provenance, jobId: ctx.id },
        },
        ctx.params,
        control(ctx),
      ),
    );
  const memorization = async (ctx: JobContext<MemorizationParams>) =>
    (await committed(ctx, REPORT_KIND, ctx.params.reportId, "report_id")) ??
    reportResult(
      await runMemorization(
        { source: deps.source, artifacts: deps.artifacts, provenance: { ...provenance, jobId: ctx.id } },
        ctx.params,
        control(ctx),
      ),
    );
  return { evaluate, compare, quality, memorization };
}

/** For JobRunner.recover(): every kind resumes by running again with its persisted params. */
export function resumeHandlers(deps: EvaluatorDeps): Record<string, AnyJobWork> {
  const w = jobWorks(deps);
  return {
    [JOB_KINDS.evaluate]: w.evaluate as AnyJobWork,
    [JOB_KINDS.compare]: w.compare as AnyJobWork,
    [JOB_KINDS.quality]: w.quality as AnyJobWork,
    [JOB_KINDS.memorization]: w.memorization as AnyJobWork,
  };
}

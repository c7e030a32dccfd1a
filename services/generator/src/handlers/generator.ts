// synthmri.generator.v1.GeneratorService: decode -> domain -> encode.
import { DataType, type GeneratorService } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { labelSchemeFromProto, type ServiceImpl, tensorFrames } from "@synthmri/rpc";
import { describeEnsemble, JOB_KINDS, newId, startEnsemble, startTrainGan } from "../domain/ensembles.js";
import { checkMaxPoints, readTrainingHistory, resolveGanId } from "../domain/history.js";
import { checkSeed } from "../domain/params.js";
import { checkEnsembleId } from "../domain/registry.js";
import { checkSampleParams, generateSamples, resolveSource } from "../domain/sampling.js";
import type { SyntheticDatasetParams } from "../domain/synthetic.js";
import { dtypeFromProto, ensembleToProto, outlierFromProto, settingsFromProto, sourceFromProto } from "./convert.js";
import type { GeneratorContext } from "../context.js";

const DEFAULT_PAGE = 50;

export function generatorHandlers(g: GeneratorContext): ServiceImpl<(typeof GeneratorService)["method"]> {
  const startDeps = { jobs: g.jobs, registry: g.registry, datasets: g.datasets };
  return {
    async trainGan(req) {
      const settings = settingsFromProto(req.family, req.config);
      const r = await startTrainGan(
        startDeps,
        { datasetId: req.datasetId, seed: req.seed, settings, name: req.name },
        g.works.trainGan,
      );
      return { jobId: r.jobId, ganId: r.ganId };
    },

    async trainEnsemble(req) {
      const settings = settingsFromProto(req.family, req.config);
      const r = await startEnsemble(
        startDeps,
        {
          datasetId: req.datasetId,
          members: req.members,
          baseSeed: req.baseSeed,
          concurrency: req.concurrency,
          settings,
          name: req.name,
        },
        g.works.trainGan,
        g.works.trainEnsemble,
      );
      return { jobId: r.jobId, ensembleId: r.ensembleId, memberJobIds: r.memberJobIds };
    },

    async *sample(req, ctx) {
      const dtype = dtypeFromProto(req.dtype);
      const params = {
        source: sourceFromProto(req.source),
        count: req.count,
        seed: checkSeed(req.seed),
        batchSize: req.batchSize || 16,
        outlier: outlierFromProto(req.outlierFilter),
        dtype,
        labelScheme: labelSchemeFromProto(req.labelScheme, "brats2020"),
      };
      checkSampleParams(params);
      const it = generateSamples(g, params, { signal: ctx.signal });
      let index = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) {
          yield { summary: { delivered: r.value.delivered, rejected: r.value.rejected, threshold: r.value.threshold } };
          return;
        }
        const b = r.value;
        let first = true;
        for (const frame of tensorFrames({
          dtype: dtype === "uint8" ? DataType.UINT8 : DataType.FLOAT32,
          shape: [b.count, b.size, b.size, b.channels],
          data: b.data,
          name: "samples",
          index: index++,
          attributes: { layout: "NHWC", channels: "t1,t1ce,t2,flair,mask" },
        })) {
          yield first
            ? {
                frame,
                provenance: b.provenance.map((p) => ({
                  ensembleId: p.ensembleId,
                  member: p.member,
                  checkpointKimg: p.checkpointKimg,
                  seed: p.seed,
                  index: p.index,
                  outlierScore: p.outlierScore ?? 0,
                })),
              }
            : { frame };
          first = false;
        }
      }
    },

    async createSyntheticDataset(req) {
      const source = sourceFromProto(req.source);
      const seed = checkSeed(req.seed);
      const outlier = outlierFromProto(req.outlierFilter);
      checkSampleParams({ count: req.count, outlier });
      // Fail fast on unknown ids / members without checkpoints, before a job id is handed out.
      await resolveSource(g, source);
      const datasetId = newId("syn");
      const params: SyntheticDatasetParams = {
        datasetId,
        name: req.name,
        labels: { ...req.labels },
        sample: { source, count: req.count, seed, outlier },
      };
      const jobId = g.jobs.start(JOB_KINDS.syntheticDataset, params, g.works.syntheticDataset);
      return { jobId, datasetId };
    },

    async getEnsemble(req) {
      checkEnsembleId(req.ensembleId);
      const record = await g.registry.get(req.ensembleId);
      return { ensemble: ensembleToProto(await describeEnsemble(g, record)) };
    },

    async listEnsembles(req) {
      const size = req.page?.pageSize || DEFAULT_PAGE;
      const start = req.page?.pageToken ? Number.parseInt(req.page.pageToken, 10) : 0;
      if (!Number.isInteger(start) || start < 0)
        throw new InvalidInput(`page_token "${req.page?.pageToken}" is not one this server issued`);
      const all = (await g.registry.list()).filter((r) => !req.datasetId || r.datasetId === req.datasetId);
      const page = all.slice(start, start + size);
      const ensembles = [];
      for (const r of page) ensembles.push(ensembleToProto(await describeEnsemble(g, r)));
      return { ensembles, nextPageToken: start + size < all.length ? String(start + size) : "" };
    },

    async getTrainingHistory(req) {
      const maxPoints = checkMaxPoints(req.maxPoints);
      const ganId = await resolveGanId(g.registry, req);
      const h = await readTrainingHistory(g.store, g.artifacts, ganId, maxPoints);
      return {
        ganId: h.ganId,
        family: h.family,
        totalKimg: h.totalKimg,
        points: h.points.map((p) => ({ ...p, swd: p.swd ?? 0 })),
      };
    },
  };
}

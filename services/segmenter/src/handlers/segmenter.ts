// TrainSegmenter, LoadModel, ListModels, UnloadModel: decode, call the domain, encode.
import { randomBytes } from "node:crypto";
import {
  type Augmentation,
  Mixture as MixtureProto,
  type SegmenterService,
  ValidationScheme as ValidationSchemeProto,
} from "@synthmri/contracts";
import type { AugmentationOptions } from "@synthmri/ml";
import { InvalidInput } from "@synthmri/platform";
import type { ServiceImpl } from "@synthmri/rpc";
import { resolveTrainParams } from "../domain/train-params.js";
import type { TrainParams } from "../domain/types.js";
import { type SegmenterDeps, TRAIN_JOB_KIND, trainWork } from "../deps.js";
import { modelInfoToProto, sourceFromProto } from "./convert.js";
import { segmentDatasetHandler } from "./segment-dataset.js";
import { segmentSlicesHandler } from "./segment-slices.js";
import { exportModelHandler } from "./export-model.js";
import { segmentVolumeHandler } from "./segment-volume.js";

function augmentationFromProto(a: Augmentation | undefined): AugmentationOptions {
  if (!a?.enabled) return { enabled: false };
  const or = (v: number, d: number) => (v ? v : d);
  const spatial = or(a.pSpatial, 0.75);
  return {
    enabled: true,
    rotateScale: {
      pRotate: spatial,
      pScale: spatial,
      maxDegrees: or(a.rotationDegrees, 30),
      scaleRange: [or(a.scaleMin, 0.9), or(a.scaleMax, 1.1)],
    },
    noise: { p: or(a.pNoise, 0.5) },
    blur: { p: or(a.pBlur, 0.2) },
    lowResolution: { p: or(a.pLowResolution, 0.25) },
    gamma: { p: or(a.pGamma, 0.3) },
  };
}

export function segmenterHandlers(deps: SegmenterDeps): ServiceImpl<(typeof SegmenterService)["method"]> {
  const { registry, models } = deps;
  return {
    async trainSegmenter(req) {
      const params: TrainParams = await resolveTrainParams(
        deps.datasets,
        {
          name: req.name,
          sources: req.sources.map(sourceFromProto),
          mixture: req.mixture === MixtureProto.CONCAT ? "concat" : "equal",
          validationFraction: req.validationFraction,
          validation: req.validationScheme === ValidationSchemeProto.REAL_SUBJECTS ? "real-subjects" : "per-source",
          validationSources: req.validationSources.map(sourceFromProto),
          runs: req.runs,
          baseSeed: req.baseSeed,
          config: {
            inputSize: req.config?.inputSize ?? 0,
            depth: req.config?.depth ?? 0,
            baseFilters: req.config?.baseFilters ?? 0,
            maxFilters: req.config?.maxFilters ?? 0,
            deepSupervision: req.config?.deepSupervision ?? 0,
            epochs: req.config?.epochs ?? 0,
            iterationsPerEpoch: req.config?.iterationsPerEpoch ?? 0,
            batchSize: req.config?.batchSize ?? 0,
            learningRate: req.config?.learningRate ?? 0,
            polyExponent: req.config?.polyExponent ?? 0,
            momentum: req.config?.momentum ?? 0,
            weightDecay: req.config?.weightDecay ?? 0,
            patchSize: req.config?.patchSize ?? 0,
            maxTrainingSamples: Number(req.config?.maxTrainingSamples ?? 0n),
            maxTrainingSeconds: req.config?.maxTrainingSeconds ?? 0,
          },
          augmentation: augmentationFromProto(req.augmentation),
          labels: { ...req.labels },
        },
        randomBytes(3).toString("hex"),
      );
      const jobId = deps.jobs.start(TRAIN_JOB_KIND, params, trainWork(deps));
      return { jobId, modelIds: params.modelIds, runJobIds: [] };
    },

    segmentSlices: segmentSlicesHandler(deps),
    segmentDataset: segmentDatasetHandler(deps),
    segmentVolume: segmentVolumeHandler(deps),
    exportModel: exportModelHandler(deps),

    async loadModel(req) {
      const m = await registry.load(req.modelId, req.version);
      const ref = await models.manifestRef(m.manifest.model.id, m.manifest.model.version);
      return { model: modelInfoToProto(m.manifest, true, ref) };
    },

    async listModels(req) {
      let all = await models.list();
      if (req.loadedOnly) all = all.filter((m) => registry.isLoaded(m.modelId, m.version));
      const size = req.page?.pageSize || 100;
      const start = req.page?.pageToken ? Number.parseInt(req.page.pageToken, 10) : 0;
      if (!Number.isInteger(start) || start < 0)
        throw new InvalidInput(`page_token "${req.page?.pageToken}" is not one this server issued`);
      const out = [];
      let i = start;
      for (; i < all.length && out.length < size; i++) {
        const m = await models.manifest(all[i].modelId, all[i].version);
        if (req.jobId && m.model.jobId !== req.jobId) continue;
        out.push(
          modelInfoToProto(
            m,
            registry.isLoaded(m.model.id, m.model.version),
            await models.manifestRef(m.model.id, m.model.version),
          ),
        );
      }
      return { models: out, nextPageToken: i < all.length ? String(i) : "" };
    },

    async unloadModel(req) {
      return { unloaded: registry.unload(req.modelId, req.version) };
    },
  };
}

// Domain records <-> protobuf shapes.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ModelInfoSchema, TrainingSource } from "@synthmri/contracts";
import { InvalidInput, type ObjectRef } from "@synthmri/platform";
import type { SegModelManifest } from "../domain/model-store.js";
import type { TrainingSourceSpec } from "../domain/types.js";
import { objectRefToProto, splitFromProto, splitToProto } from "@synthmri/rpc";

export function sourceFromProto(s: TrainingSource, i: number): TrainingSourceSpec {
  if (!s.datasetId) throw new InvalidInput(`sources[${i}].dataset_id is empty; name a dataset artifact id`);
  return { datasetId: s.datasetId, split: splitFromProto(s.split), maxSlices: s.maxSlices };
}

export function modelInfoToProto(
  m: SegModelManifest,
  loaded: boolean,
  manifestRef?: ObjectRef,
): MessageInitShape<typeof ModelInfoSchema> {
  const d = m.model;
  const v = d.validationDice;
  return {
    id: d.id,
    version: d.version,
    name: d.name,
    run: d.run,
    seed: d.seed,
    sources: d.sources.map((s) => ({ datasetId: s.datasetId, split: splitToProto(s.split), maxSlices: s.maxSlices })),
    config: {
      inputSize: d.preprocessing.inputSize,
      depth: d.unet.widths.length,
      baseFilters: d.unet.widths[0],
      maxFilters: Math.max(...d.unet.widths),
      deepSupervision: d.unet.deepSupervisionHeads,
      epochs: d.train.epochs,
      iterationsPerEpoch: d.train.iterationsPerEpoch,
      batchSize: d.train.batchSize,
      learningRate: d.train.lr,
      polyExponent: d.train.polyExponent,
      momentum: d.train.momentum,
      weightDecay: d.train.weightDecay,
      patchSize: d.train.patchSize ?? 0,
    },
    validationDice: v ? { NCR: v.ncr, ED: v.ed, ET: v.et, WT: v.wt, mean: v.mean } : {},
    loaded,
    manifest: manifestRef ? objectRefToProto(manifestRef, "application/json") : undefined,
    createdAt: timestampFromDate(new Date(m.createdAt)),
    jobId: d.jobId,
  };
}

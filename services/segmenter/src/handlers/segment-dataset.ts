// SegmentDataset: the model segments a split of a dataset artifact the segmenter reads itself (through its
// DatasetReader port), so the caller sends an id, not pixels. One "labels" tensor per batch of the dataset's
// manifest order; the header frame names the subject key and slice index of each slice.
import { create } from "@bufbuild/protobuf";
import {
  DataType,
  type SegmentDatasetRequest,
  type SegmentDatasetResponse,
  SegmentDatasetResponseSchema,
} from "@synthmri/contracts";
import { FailedPrecondition, InvalidInput } from "@synthmri/platform";
import { type CallContext, labelSchemeFromProto, splitFromProto, tensorFrames } from "@synthmri/rpc";
import type { SegmenterDeps } from "../deps.js";
import { segmentSliceBatch } from "../domain/slice-inference.js";

const IMAGE_CHANNELS = ["t1", "t1ce", "t2", "flair"] as const;

export function segmentDatasetHandler(deps: SegmenterDeps) {
  return async function* segmentDataset(
    req: SegmentDatasetRequest,
    ctx: CallContext,
  ): AsyncGenerator<SegmentDatasetResponse> {
    if (!req.modelId) throw new InvalidInput("SegmentDataset: model_id is empty; name a trained model");
    if (!req.datasetId) throw new InvalidInput("SegmentDataset: dataset_id is empty; name a dataset artifact");
    const split = splitFromProto(req.split, "test");
    const fields = await deps.datasets.manifest(req.datasetId);
    const model = deps.registry.hold(await deps.registry.resolve(req.modelId, req.version));
    try {
      let index = 0;
      for await (const b of deps.datasets.slices(req.datasetId, fields, {
        split,
        batchSize: req.batchSize || 32,
        maxSlices: req.maxSlices || undefined,
        channels: IMAGE_CHANNELS,
        signal: ctx.signal,
      })) {
        const out = await segmentSliceBatch(
          model,
          { data: b.data, shape: [b.count, b.height, b.width, b.channels] },
          {
            tta: req.tta,
            probabilities: false,
            normalized: false,
            scheme: labelSchemeFromProto(req.labelScheme, "brats2020"),
          },
        );
        let first = true;
        for (const frame of tensorFrames({
          dtype: DataType.UINT8,
          shape: out.shape,
          data: out.labels,
          name: "labels",
          index,
        })) {
          yield create(
            SegmentDatasetResponseSchema,
            first ? { frame, subjectKeys: b.subject, sliceIndices: b.sliceIndex } : { frame },
          );
          first = false;
        }
        index++;
      }
      if (index === 0)
        throw new FailedPrecondition(`dataset ${req.datasetId} has no ${split} slices; pick another split or dataset`);
    } finally {
      deps.registry.release(model);
    }
  };
}

// SegmentSlices (bidi): config, then tensor batches [n, h, w, 4]; one "labels" tensor per batch back (and
// "probabilities" when asked), header.index = the input batch index.
import { create } from "@bufbuild/protobuf";
import {
  DataType,
  type SegmentSlicesRequest,
  type SegmentSlicesResponse,
  SegmentSlicesResponseSchema,
} from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { labelSchemeFromProto, receiveTensors, tensorFrames, typedArrayOf } from "@synthmri/rpc";
import { segmentSliceBatch } from "../domain/slice-inference.js";
import type { SegmenterDeps } from "../deps.js";
import { firstAndRest } from "./stream-util.js";

const MAX_BATCH_BYTES = 512 << 20;

export function segmentSlicesHandler(deps: SegmenterDeps) {
  return async function* segmentSlices(
    requests: AsyncIterable<SegmentSlicesRequest>,
  ): AsyncGenerator<SegmentSlicesResponse> {
    const { first, rest } = await firstAndRest(requests, "SegmentSlices");
    if (first.part.case !== "config")
      throw new InvalidInput("SegmentSlices: the first message must be the config (model_id, ...), then tensor frames");
    const cfg = first.part.value;
    const model = deps.registry.hold(await deps.registry.resolve(cfg.modelId, cfg.version));
    try {
      const frames = receiveTensors(rest, (m) => (m.part.case === "frame" ? m.part.value : undefined), {
        maxBytes: MAX_BATCH_BYTES,
      });
      let received = 0;
      for await (const t of frames) {
        received++;
        if (t.dtype !== DataType.UINT8 && t.dtype !== DataType.FLOAT32)
          throw new InvalidInput(`batch ${t.index}: dtype ${DataType[t.dtype]}; send uint8 (0-255) or float32 slices`);
        const out = await segmentSliceBatch(
          model,
          { data: typedArrayOf(t) as Uint8Array | Float32Array, shape: t.shape },
          {
            tta: cfg.tta,
            probabilities: cfg.returnProbabilities,
            normalized: cfg.normalized,
            scheme: labelSchemeFromProto(cfg.labelScheme, "brats2020"),
          },
        );
        for (const frame of tensorFrames({
          dtype: DataType.UINT8,
          shape: out.shape,
          data: out.labels,
          name: "labels",
          index: t.index,
        }))
          yield create(SegmentSlicesResponseSchema, { frame });
        if (out.probabilities)
          for (const frame of tensorFrames({
            dtype: DataType.FLOAT32,
            shape: [...out.shape, 4],
            data: out.probabilities,
            name: "probabilities",
            index: t.index,
          }))
            yield create(SegmentSlicesResponseSchema, { frame });
      }
      if (!received) throw new InvalidInput("SegmentSlices: no slice batch arrived after the config");
    } finally {
      deps.registry.release(model);
    }
  };
}

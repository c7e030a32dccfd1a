// StreamSlices: batches of a split as NHWC tensors (header frame + 1 MiB chunks), the header's message
// carrying the batch's subject keys and slice indices.
import { DataType, type StreamSlicesRequest } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { type CallContext, splitFromProto, splitToProto, tensorFrames } from "@synthmri/rpc";
import type { Ingest } from "../domain/ingest.js";
import { openSliceStream } from "../domain/slices.js";
import { channelFromProto } from "./convert.js";

export function sliceHandlers(ingest: Ingest) {
  return {
    async *streamSlices(req: StreamSlicesRequest, ctx: CallContext) {
      const dtype = req.dtype === DataType.UNSPECIFIED ? DataType.UINT8 : req.dtype;
      if (dtype !== DataType.UINT8 && dtype !== DataType.FLOAT32) {
        throw new InvalidInput(`dtype ${DataType[req.dtype]} is not offered; ask for UINT8 or FLOAT32`);
      }
      const split = splitFromProto(req.split);
      const { batches } = await openSliceStream(ingest.deps.artifacts, req.datasetId, {
        split,
        batchSize: req.batchSize || 32,
        shuffle: req.shuffle,
        seed: req.seed,
        maxSlices: req.maxSlices,
        subjectKeys: req.subjectKeys,
        channels: req.channels.map(channelFromProto),
        resize: req.resize || undefined,
        signal: ctx.signal,
      });
      let index = 0;
      for await (const b of batches) {
        const data = dtype === DataType.FLOAT32 ? Float32Array.from(b.data) : b.data;
        let first = true;
        for (const frame of tensorFrames({
          dtype,
          shape: [b.count, b.height, b.width, b.channels],
          data,
          name: "slices",
          index: index++,
        })) {
          yield first
            ? {
                frame,
                batch: {
                  subjectKeys: b.subject,
                  sliceIndices: b.sliceIndex,
                  split: splitToProto(split),
                },
              }
            : { frame };
          first = false;
        }
      }
    },
  };
}

// Segmenter over the segmenter service's gRPC API: LoadModel to check and warm a model, SegmentDataset for
// predictions of a dataset split by id (the segmenter reads the images from the store; no pixels are sent). Output labels are requested in the brats2020 scheme (0, 1, 2, 4) and converted to the
// internal labels (4 -> 3); anything else is outside the scheme and rejected.
import { DataType, LabelScheme, type SegmentDatasetResponse, type SegmenterService } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { type Client, receiveTensors, splitToProto, typedArrayOf } from "@synthmri/rpc";
import type { LabelBatch, SegmentDatasetOptions, Segmenter } from "../domain/ports.js";
import { fromRemote } from "./remote-errors.js";

type SegmenterClient = Client<(typeof SegmenterService)["method"]>;

/** brats2020 label -> internal label; 255 = outside the scheme. */
const BRATS2020_TO_INTERNAL = (() => {
  const lut = new Uint8Array(256).fill(255);
  lut[0] = 0;
  lut[1] = 1;
  lut[2] = 2;
  lut[4] = 3;
  return lut;
})();

export function brats2020ToInternal(labels: Uint8Array, modelId: string): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = BRATS2020_TO_INTERNAL[labels[i]];
    if (l === 255)
      throw new InvalidInput(
        `model ${modelId}: the segmenter returned label ${labels[i]}, outside the brats2020 scheme (0 background, 1 NCR, 2 ED, 4 ET)`,
      );
    out[i] = l;
  }
  return out;
}

export class GrpcSegmenter implements Segmenter {
  constructor(private readonly client: SegmenterClient) {}

  async prepare(modelId: string, version: number, options: { signal?: AbortSignal } = {}) {
    try {
      const { model } = await this.client.loadModel(
        { modelId, version },
        { signal: options.signal, deadlineMs: 120_000 },
      );
      const m = model?.manifest;
      return {
        version: model?.version ?? version,
        manifest: m?.key ? { bucket: m.bucket, key: m.key, sha256: m.sha256, size: Number(m.size) } : undefined,
      };
    } catch (e) {
      throw fromRemote("segmenter", e);
    }
  }

  async *segmentDataset(datasetId: string, options: SegmentDatasetOptions): AsyncIterable<LabelBatch> {
    const responses = this.client.segmentDataset(
      {
        modelId: options.modelId,
        version: options.version,
        tta: options.tta,
        labelScheme: LabelScheme.BRATS2020,
        datasetId,
        split: splitToProto(options.split),
        batchSize: options.batchSize ?? 0,
      },
      { signal: options.signal },
    );
    // The slice tags ride on the message of each batch's header frame.
    let tags: { subjectKeys: string[]; sliceIndices: number[] } | undefined;
    const pick = (m: SegmentDatasetResponse) => {
      if (m.frame?.frame.case === "header") tags = { subjectKeys: m.subjectKeys, sliceIndices: m.sliceIndices };
      return m.frame;
    };
    try {
      for await (const t of receiveTensors(responses, pick)) {
        if (t.name && t.name !== "labels") continue;
        if (t.shape.length !== 3 || t.dtype !== DataType.UINT8)
          throw new InvalidInput(
            `model ${options.modelId}: segmenter sent ${DataType[t.dtype]} labels of shape [${t.shape.join(", ")}]; expected uint8 [n, h, w]`,
          );
        const [n, h, w] = t.shape;
        yield {
          index: t.index,
          labels: brats2020ToInternal(typedArrayOf(t) as Uint8Array, options.modelId),
          n,
          h,
          w,
          subjectKeys: tags?.subjectKeys ?? [],
          sliceIndices: tags?.sliceIndices ?? [],
        };
        tags = undefined;
      }
    } catch (e) {
      throw fromRemote("segmenter", e);
    }
  }
}

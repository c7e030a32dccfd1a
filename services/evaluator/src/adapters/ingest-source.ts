// SliceSource over the ingest service's gRPC API: GetDataset for descriptions, StreamSlices for batches.
import { DataType, type IngestService, Origin, type StreamSlicesResponse } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { type Client, receiveTensors, splitFromProto, splitToProto, typedArrayOf } from "@synthmri/rpc";
import type {
  DatasetDescription,
  SliceBatch,
  SliceSource,
  StreamSlicesOptions,
  SubjectDescription,
} from "../domain/ports.js";
import { fromRemote } from "./remote-errors.js";

type IngestClient = Client<(typeof IngestService)["method"]>;

function triple(v: readonly number[]): [number, number, number] {
  return [Number(v[0] ?? 0), Number(v[1] ?? 0), Number(v[2] ?? 0)];
}

export class IngestSliceSource implements SliceSource {
  constructor(private readonly client: IngestClient) {}

  async describe(datasetId: string, options: { signal?: AbortSignal } = {}): Promise<DatasetDescription> {
    try {
      const { dataset } = await this.client.getDataset(
        { datasetId, includeSubjects: true },
        { signal: options.signal },
      );
      if (!dataset) throw new InvalidInput(`ingest returned no description for dataset ${datasetId}`);
      const subjects: SubjectDescription[] = dataset.subjects.map((s) => ({
        key: s.key,
        split: splitFromProto(s.split),
        shape: triple(s.shape),
        spacing: triple(s.spacing),
        sliceCount: s.sliceCount,
      }));
      const m = dataset.manifest;
      return {
        id: dataset.id,
        origin: dataset.origin === Origin.REAL ? "real" : dataset.origin === Origin.SYNTHETIC ? "synthetic" : "unknown",
        sliceShape: triple(dataset.sliceShape),
        trainSlices: dataset.trainSlices,
        testSlices: dataset.testSlices,
        subjects,
        manifest: m?.key ? { bucket: m.bucket, key: m.key, sha256: m.sha256, size: Number(m.size) } : undefined,
      };
    } catch (e) {
      throw fromRemote("ingest", e);
    }
  }

  async *streamSlices(datasetId: string, options: StreamSlicesOptions): AsyncIterable<SliceBatch> {
    const responses = this.client.streamSlices(
      {
        datasetId,
        split: splitToProto(options.split),
        batchSize: options.batchSize ?? 0,
        shuffle: options.shuffle ?? false,
        seed: options.seed ?? 0,
        maxSlices: options.maxSlices ?? 0,
        dtype: DataType.UINT8,
      },
      { signal: options.signal },
    );
    // The batch facts ride on the message of each tensor's header frame.
    let info: StreamSlicesResponse["batch"];
    const pick = (m: StreamSlicesResponse) => {
      if (m.frame?.frame.case === "header") info = m.batch;
      return m.frame;
    };
    try {
      for await (const t of receiveTensors(responses, pick)) {
        if (t.shape.length !== 4)
          throw new InvalidInput(`ingest sent a slice batch of shape [${t.shape.join(", ")}]; expected NHWC`);
        const [n, h, w, c] = t.shape;
        const data = t.dtype === DataType.UINT8 ? (typedArrayOf(t) as Uint8Array) : toUint8(t);
        yield {
          data,
          n,
          h,
          w,
          c,
          subjectKeys: info?.subjectKeys ?? [],
          sliceIndices: info?.sliceIndices ?? [],
        };
        info = undefined;
      }
    } catch (e) {
      throw fromRemote("ingest", e);
    }
  }
}

/** A float32 batch (0-255 scale) as uint8. */
function toUint8(t: Parameters<typeof typedArrayOf>[0]): Uint8Array {
  const src = typedArrayOf(t);
  if (src instanceof BigInt64Array) throw new InvalidInput("ingest sent int64 slices; expected uint8 or float32");
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(Number(src[i]))));
  return out;
}

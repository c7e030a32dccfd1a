// Client side of SegmentVolume (the CLI and pipelines use it): streams the four sequence files with their
// modalities and reassembles the summary and the label NIfTI.
import { create } from "@bufbuild/protobuf";
import { type SegmentVolumeRequest, SegmentVolumeRequestSchema, type SegmenterService } from "@synthmri/contracts";
import { type Client, labelSchemeToProto, modalityToProto } from "@synthmri/rpc";

export type SegmenterClient = Client<(typeof SegmenterService)["method"]>;
export type SequenceFiles = Partial<Record<"t1" | "t1ce" | "t2" | "flair", { name: string; bytes: Uint8Array }>>;

const CHUNK = 1 << 20;

export interface RemoteVolumeResult {
  /** label NIfTI (.nii.gz) bytes */
  nifti: Uint8Array;
  labelVoxels: Record<number, bigint>;
  inferenceSeconds: number;
  modelId: string;
  version: number;
}

export async function segmentVolumeRemote(
  client: SegmenterClient,
  modelId: string,
  files: SequenceFiles,
  o: {
    version?: number;
    tta?: boolean;
    scheme?: "brats2020" | "brats2023";
    batchSize?: number;
    signal?: AbortSignal;
  } = {},
): Promise<RemoteVolumeResult> {
  async function* requests(): AsyncGenerator<SegmentVolumeRequest> {
    yield create(SegmentVolumeRequestSchema, {
      part: {
        case: "config",
        value: {
          modelId,
          version: o.version ?? 0,
          tta: o.tta ?? false,
          batchSize: o.batchSize ?? 0,
          labelScheme: labelSchemeToProto(o.scheme ?? "brats2020"),
        },
      },
    });
    for (const [role, f] of Object.entries(files)) {
      if (!f) continue;
      const header = {
        name: f.name,
        modality: modalityToProto(role as keyof SequenceFiles),
        size: BigInt(f.bytes.length),
      };
      yield create(SegmentVolumeRequestSchema, {
        part: { case: "file", value: { frame: { case: "header", value: header } } },
      });
      for (let off = 0; off < f.bytes.length; off += CHUNK) {
        const chunk = { offset: BigInt(off), data: f.bytes.subarray(off, off + CHUNK) };
        yield create(SegmentVolumeRequestSchema, {
          part: { case: "file", value: { frame: { case: "chunk", value: chunk } } },
        });
      }
    }
  }
  const parts: Uint8Array[] = [];
  const result: RemoteVolumeResult = {
    nifti: new Uint8Array(0),
    labelVoxels: {},
    inferenceSeconds: 0,
    modelId,
    version: 0,
  };
  for await (const m of client.segmentVolume(requests(), { signal: o.signal, deadlineMs: 3_600_000 })) {
    if (m.part.case === "summary") {
      result.labelVoxels = m.part.value.labelVoxels;
      result.inferenceSeconds = m.part.value.inferenceSeconds;
      result.version = m.part.value.version;
    } else if (m.part.case === "file" && m.part.value.frame.case === "chunk") parts.push(m.part.value.frame.value.data);
  }
  result.nifti = Buffer.concat(parts);
  return result;
}

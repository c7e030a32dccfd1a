// ExportModel: a stored model version as one file (ONNX, or the stored SMUNET01 bytes), streamed as a header with
// size and sha256, then 1 MiB chunks.
import { createHash } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type ExportModelRequest, type ExportModelResponseSchema, ModelFormat } from "@synthmri/contracts";
import { exportUNetToOnnx, loadUNet } from "@synthmri/ml";
import { InvalidInput } from "@synthmri/platform";
import type { SegmenterDeps } from "../deps.js";

const CHUNK = 1 << 20;

export function exportModelHandler(deps: SegmenterDeps) {
  return async function* exportModel(
    req: ExportModelRequest,
  ): AsyncGenerator<MessageInitShape<typeof ExportModelResponseSchema>> {
    const version = req.version || (await deps.models.latestVersion(req.modelId));
    const manifest = await deps.models.manifest(req.modelId, version);
    const stored = await deps.models.weights(manifest);
    let bytes: Uint8Array;
    let name: string;
    let contentType: string;
    if (req.format === ModelFormat.UNSPECIFIED || req.format === ModelFormat.ONNX) {
      const net = loadUNet(stored);
      try {
        bytes = exportUNetToOnnx(net, {
          name: `synthmri_${manifest.model.id}`,
          metadata: {
            model_id: manifest.model.id,
            model_version: String(manifest.model.version),
            condition: manifest.model.name,
            labels: "0 background, 1 NCR, 2 ED, 3 ET (internal; BraTS 2020 files write ET as 4)",
            normalization: "per slice and sequence: z-score over non-zero (brain) voxels, 0 outside",
          },
        });
      } finally {
        net.dispose();
      }
      name = `${manifest.model.id}-v${version}.onnx`;
      contentType = "application/onnx";
    } else if (req.format === ModelFormat.SYNTHMRI) {
      bytes = stored;
      name = `${manifest.model.id}-v${version}.smunet`;
      contentType = "application/octet-stream";
    } else {
      throw new InvalidInput(`format ${req.format} is not one of ONNX (1) or SYNTHMRI (2)`);
    }
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    yield { file: { frame: { case: "header", value: { name, size: BigInt(bytes.length), sha256, contentType } } } };
    for (let off = 0; off < bytes.length; off += CHUNK)
      yield {
        file: { frame: { case: "chunk", value: { offset: BigInt(off), data: bytes.subarray(off, off + CHUNK) } } },
      };
  };
}

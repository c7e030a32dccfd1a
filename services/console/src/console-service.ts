// ConsoleService: what the browser cannot ask the four services directly.
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ConsoleService,
  Modality,
  SegmenterService,
  type ServiceInfo,
  ServiceInfoService,
} from "@synthmri/contracts";
import { type Client, checkHealth, createClient, isRpcError, modalityFromProto } from "@synthmri/rpc";
import { type SequenceFiles, segmentVolumeRemote } from "@synthmri/segmenter/client";
import { toConnectError } from "./forward.js";
import type { ReportFiles } from "./report-files.js";

export type ServiceName = "ingest" | "generator" | "segmenter" | "evaluator";
export type Addresses = Record<ServiceName, string>;

/** The backend names that compute on a GPU (tfjs-node-gpu, WebGPU). */
const GPU_BACKENDS = new Set(["tensorflow-gpu", "webgpu", "gpu"]);

/** Largest scan upload accepted in one request (four BraTS volumes are ~40 MB uncompressed). */
export const MAX_SCAN_BYTES = 256 * 1024 * 1024;

export interface ConsoleServiceDeps {
  addresses: Addresses;
  reportFiles?: ReportFiles;
}

export function consoleService(deps: ConsoleServiceDeps): {
  impl: ServiceImpl<typeof ConsoleService>;
  close(): void;
} {
  const options = { defaultDeadlineMs: 600_000, maxMessageBytes: 64 * 1024 * 1024 };
  const segmenter = createClient(SegmenterService, deps.addresses.segmenter, options);
  const infoClients = Object.fromEntries(
    (Object.entries(deps.addresses) as Array<[ServiceName, string]>).map(([name, address]) => [
      name,
      createClient(ServiceInfoService, address, { defaultDeadlineMs: 2000 }),
    ]),
  ) as Record<ServiceName, Client<(typeof ServiceInfoService)["method"]>>;
  const impl: ServiceImpl<typeof ConsoleService> = {
    async getHealth() {
      const recorded = await latestBackend(segmenter);
      const services = await Promise.all(
        (Object.entries(deps.addresses) as Array<[ServiceName, string]>).map(async ([name, address]) => {
          const t0 = performance.now();
          const status = await checkHealth(address, "", 2000);
          const latencyMs = performance.now() - t0;
          const { info, error } = await serviceInfo(infoClients[name]);
          // The backend the process runs now; for a segmenter that cannot say (older build), the one recorded
          // in its newest model's provenance.
          const backend = info?.backend || (name === "segmenter" ? recorded : "");
          return {
            name,
            address,
            status,
            latencyMs,
            backend,
            gpu: info ? info.gpu : GPU_BACKENDS.has(backend),
            info,
            infoError: error,
          };
        }),
      );
      return { services };
    },
    async segmentScan(request, ctx) {
      const files: SequenceFiles = {};
      for (const f of request.files) {
        if (f.modality === Modality.SEG || f.modality === Modality.UNSPECIFIED) {
          throw new ConnectError(`file ${f.name}: give its sequence (T1, T1CE, T2 or FLAIR)`, Code.InvalidArgument);
        }
        const role = modalityFromProto(f.modality) as keyof SequenceFiles;
        if (files[role]) throw new ConnectError(`two files for ${role}`, Code.InvalidArgument);
        files[role] = { name: f.name, bytes: f.data };
      }
      if (Object.keys(files).length === 0) {
        throw new ConnectError("no files: upload the scan's four NIfTI sequences", Code.InvalidArgument);
      }
      try {
        const modelId = request.modelId || (await defaultModel(segmenter));
        const r = await segmentVolumeRemote(segmenter, modelId, files, {
          version: request.version,
          tta: request.tta,
          signal: ctx.signal,
        });
        const stem = (files.flair?.name ?? files.t1?.name ?? "scan").replace(
          /(_(t1|t1ce|t2|flair))?\.nii(\.gz)?$/i,
          "",
        );
        return {
          labelVoxels: r.labelVoxels,
          inferenceSeconds: r.inferenceSeconds,
          modelId: r.modelId,
          version: r.version,
          nifti: r.nifti,
          name: `${stem}_seg.nii.gz`,
        };
      } catch (e) {
        throw toConnectError(e);
      }
    },
    async getReportFile(request) {
      if (!deps.reportFiles) {
        throw new ConnectError("the console has no object store configured (start it with S3_* set)", Code.Unavailable);
      }
      return deps.reportFiles.read(request.reportId, request.name);
    },
  };
  return {
    impl,
    close() {
      segmenter.close();
      for (const c of Object.values(infoClients)) c.close();
    },
  };
}

type Segmenter = Client<(typeof SegmenterService)["method"]>;

async function serviceInfo(
  client: Client<(typeof ServiceInfoService)["method"]>,
): Promise<{ info?: ServiceInfo; error: string }> {
  try {
    const r = await client.getServiceInfo({});
    return { info: r.info, error: "" };
  } catch (e) {
    const why = isRpcError(e) ? `${e.details || e.message}` : e instanceof Error ? e.message : String(e);
    return { error: why };
  }
}

async function latestBackend(segmenter: Segmenter): Promise<string> {
  try {
    const { models } = await segmenter.listModels({}, { deadlineMs: 2000 });
    const newest = [...models].sort(
      (a, b) => Number(b.createdAt?.seconds ?? 0n) - Number(a.createdAt?.seconds ?? 0n),
    )[0];
    return newest?.provenance?.backend ?? "";
  } catch {
    return "";
  }
}

/** The loaded model (or the newest one) when the page names none. */
async function defaultModel(segmenter: Segmenter): Promise<string> {
  const { models } = await segmenter.listModels({});
  const chosen = models.find((m) => m.loaded) ?? models[0];
  if (!chosen) {
    throw new ConnectError(
      "no segmentation model yet: train one (or run the demo experiment) first",
      Code.FailedPrecondition,
    );
  }
  return chosen.id;
}

// Typed Connect clients over the console server's forwarding routes: the same protobuf-es descriptors as
// the services (packages/contracts), binary protobuf on the wire.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  ConsoleService,
  EvaluatorService,
  GeneratorService,
  IngestService,
  JobService,
  PartnerAdminService,
  SegmenterService,
} from "@synthmri/contracts";

export type ServiceName = "ingest" | "generator" | "segmenter" | "evaluator";
export const SERVICE_NAMES: ServiceName[] = ["ingest", "generator", "segmenter", "evaluator"];

function transport(prefix: string) {
  return createConnectTransport({ baseUrl: `${location.origin}/rpc/${prefix}`, useBinaryFormat: true });
}

export const api = {
  console: createClient(ConsoleService, transport("console")),
  ingest: createClient(IngestService, transport("ingest")),
  generator: createClient(GeneratorService, transport("generator")),
  /** Served on the generator's internal port (never the partner listener). */
  partnerAdmin: createClient(PartnerAdminService, transport("generator")),
  segmenter: createClient(SegmenterService, transport("segmenter")),
  evaluator: createClient(EvaluatorService, transport("evaluator")),
  jobs: {
    ingest: createClient(JobService, transport("ingest")),
    generator: createClient(JobService, transport("generator")),
    segmenter: createClient(JobService, transport("segmenter")),
    evaluator: createClient(JobService, transport("evaluator")),
  } as Record<ServiceName, ReturnType<typeof createClient<typeof JobService>>>,
};

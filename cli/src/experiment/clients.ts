// Typed gRPC clients of the four services (and each one's JobService) from their addresses.
import { EvaluatorService, GeneratorService, IngestService, JobService, SegmenterService } from "@synthmri/contracts";
import { type Client, createClient } from "@synthmri/rpc";

export type ServiceKey = "ingest" | "generator" | "segmenter" | "evaluator";
export type Addresses = Record<ServiceKey, string>;

export interface ServiceClients {
  addresses: Addresses;
  ingest: Client<typeof IngestService.method>;
  generator: Client<typeof GeneratorService.method>;
  segmenter: Client<typeof SegmenterService.method>;
  evaluator: Client<typeof EvaluatorService.method>;
  jobs: Record<ServiceKey, Client<typeof JobService.method>>;
  close(): void;
}

// Large tensor batches (sample grids) come back in 1 MiB chunks; 64 MiB leaves room for any header.
// A generous deadline: a service whose event loop is busy with a long compute step answers late, not never.
const OPTIONS = { defaultDeadlineMs: 600_000, maxMessageBytes: 64 * 1024 * 1024 };

export function connectServices(addresses: Addresses): ServiceClients {
  const jobs = {
    ingest: createClient(JobService, addresses.ingest, OPTIONS),
    generator: createClient(JobService, addresses.generator, OPTIONS),
    segmenter: createClient(JobService, addresses.segmenter, OPTIONS),
    evaluator: createClient(JobService, addresses.evaluator, OPTIONS),
  };
  const clients = {
    addresses,
    ingest: createClient(IngestService, addresses.ingest, OPTIONS),
    generator: createClient(GeneratorService, addresses.generator, OPTIONS),
    segmenter: createClient(SegmenterService, addresses.segmenter, OPTIONS),
    evaluator: createClient(EvaluatorService, addresses.evaluator, OPTIONS),
    jobs,
    close() {
      for (const c of [
        clients.ingest,
        clients.generator,
        clients.segmenter,
        clients.evaluator,
        ...Object.values(jobs),
      ]) {
        c.close();
      }
    },
  };
  return clients;
}

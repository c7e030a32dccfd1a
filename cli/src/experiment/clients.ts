// Typed gRPC clients of the four services (and each one's JobService) from their addresses.
import { EvaluatorService, GeneratorService, IngestService, JobService, SegmenterService } from "@synthmri/contracts";
import { type Client, type ClientOptions, createClient } from "@synthmri/rpc";
import { clientTlsOptions } from "../connect/tls.js";

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

/**
 * Clients of the four services. TLS defaults to the TLS_CA/TLS_CERT/TLS_KEY environment, the same variables the
 * services (also those the supervisor starts, which inherit the environment) read, so a deployment with mTLS
 * between services is reached with its own client certificate.
 */
export function connectServices(
  addresses: Addresses,
  connection: Pick<ClientOptions, "tls" | "channelOptions"> = clientTlsOptions({}),
): ServiceClients {
  const options = { ...OPTIONS, ...connection };
  const jobs = {
    ingest: createClient(JobService, addresses.ingest, options),
    generator: createClient(JobService, addresses.generator, options),
    segmenter: createClient(JobService, addresses.segmenter, options),
    evaluator: createClient(JobService, addresses.evaluator, options),
  };
  const clients = {
    addresses,
    ingest: createClient(IngestService, addresses.ingest, options),
    generator: createClient(GeneratorService, addresses.generator, options),
    segmenter: createClient(SegmenterService, addresses.segmenter, options),
    evaluator: createClient(EvaluatorService, addresses.evaluator, options),
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

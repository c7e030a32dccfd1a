// The ingest service: build(deps) wires the domain to the gRPC handlers; startServer() runs it on a port
// (tests use port 0 and the embedded store). No globals: everything comes in through deps.
import { IngestService, JobService } from "@synthmri/contracts";
import {
  ArtifactStore,
  InvalidInput,
  JobRunner,
  type Logger,
  type ObjectStore,
  silentLogger,
} from "@synthmri/platform";
import {
  createServer,
  jobHandlers,
  loggingInterceptor,
  type RpcServer,
  type ServerInterceptor,
  type TlsOptions,
} from "@synthmri/rpc";
import { openDirectorySource } from "./adapters/fs-source.js";
import { scrubbingLogger } from "./adapters/scrub-logger.js";
import { prefixSource, uploadSessionSource } from "./adapters/store-source.js";
import type { CohortSource } from "./domain/cohort-source.js";
import { Ingest } from "./domain/ingest.js";
import type { ImportSourceSpec } from "./domain/params.js";
import { datasetHandlers } from "./handlers/datasets.js";
import { exportHandlers } from "./handlers/export.js";
import { INGEST_JOB_STATUS, importHandlers } from "./handlers/import.js";
import { sliceHandlers } from "./handlers/slices.js";
import { uploadHandlers } from "./handlers/upload.js";

export const INGEST_SERVICE = "ingest";

export interface IngestServerDeps {
  store: ObjectStore;
  /** de-identification salt (ensureDeidSalt(config)) */
  salt: string;
  logger?: Logger;
  /** import jobs at once (config.jobConcurrency) */
  jobConcurrency?: number;
  /** an object store on another bucket with the same endpoint and credentials (ImportDirectory s3_prefix) */
  openBucket?: (bucket: string) => ObjectStore;
  /** zlib level of stored volumes (default 6) */
  gzipLevel?: number;
  /** software version recorded in provenance */
  version?: string;
  /** keep every import's subject id -> key mapping (config KEEP_ID_MAPPING), as if each request asked */
  keepIdMapping?: boolean;
}

export interface BuiltIngest {
  ingest: Ingest;
  jobs: JobRunner;
  artifacts: ArtifactStore;
  ingestService: ReturnType<typeof ingestServiceImpl>;
  jobService: ReturnType<typeof jobHandlers>;
}

function ingestServiceImpl(ingest: Ingest) {
  return {
    ...uploadHandlers(ingest),
    ...importHandlers(ingest),
    ...datasetHandlers(ingest),
    ...sliceHandlers(ingest),
    ...exportHandlers(ingest),
  };
}

export function build(deps: IngestServerDeps): BuiltIngest {
  const logger = scrubbingLogger(deps.logger ?? silentLogger);
  const artifacts = new ArtifactStore({
    store: deps.store,
    logger,
    provenance: { service: INGEST_SERVICE, version: deps.version ?? "0.1.0" },
  });
  const jobs = new JobRunner({ store: deps.store, service: INGEST_SERVICE, logger, concurrency: deps.jobConcurrency });
  const openSource = async (spec: ImportSourceSpec): Promise<CohortSource> => {
    switch (spec.kind) {
      case "local":
        return openDirectorySource(spec.path);
      case "upload":
        return uploadSessionSource(deps.store, spec.sessionId);
      case "s3": {
        if (!spec.bucket || spec.bucket === deps.store.bucket) return prefixSource(deps.store, spec.prefix);
        if (!deps.openBucket) {
          throw new InvalidInput(
            `this ingest server reads only its own bucket "${deps.store.bucket}", not "${spec.bucket}"`,
          );
        }
        const other = deps.openBucket(spec.bucket);
        if (!(await other.exists(`${spec.prefix}`)) && !(await firstKey(other, spec.prefix))) {
          throw new InvalidInput(
            `s3://${spec.bucket}/${spec.prefix} holds no objects (or the bucket is not reachable)`,
          );
        }
        return prefixSource(other, spec.prefix);
      }
    }
  };
  const ingest = new Ingest({
    artifacts,
    jobs,
    salt: deps.salt,
    logger,
    openSource,
    gzipLevel: deps.gzipLevel,
    keepIdMapping: deps.keepIdMapping,
  });
  return {
    ingest,
    jobs,
    artifacts,
    ingestService: ingestServiceImpl(ingest),
    jobService: jobHandlers(jobs, INGEST_JOB_STATUS),
  };
}

async function firstKey(store: ObjectStore, prefix: string): Promise<string | undefined> {
  for await (const o of store.listObjects(prefix)) return o.key;
  return undefined;
}

export interface RunningIngest extends BuiltIngest {
  server: RpcServer;
  port: number;
  /** host:port clients dial */
  address: string;
  /** drains the server and stops the job runner (jobs left RUNNING resume on the next start) */
  close(): Promise<void>;
}

export async function startServer(
  deps: IngestServerDeps,
  opts: {
    port?: number;
    host?: string;
    maxMessageBytes?: number;
    interceptors?: ServerInterceptor[];
    tls?: TlsOptions;
  } = {},
): Promise<RunningIngest> {
  const built = build(deps);
  const logger = scrubbingLogger(deps.logger ?? silentLogger);
  await built.jobs.recover(built.ingest.resumeHandlers());
  const server = createServer({
    logger,
    maxMessageBytes: opts.maxMessageBytes,
    tls: opts.tls,
    interceptors: [loggingInterceptor(logger, { skipHealth: true }), ...(opts.interceptors ?? [])],
  })
    .add(IngestService, built.ingestService)
    .add(JobService, built.jobService);
  const host = opts.host ?? "127.0.0.1";
  const port = await server.listen(host, opts.port ?? 0);
  return {
    ...built,
    server,
    port,
    address: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      await server.shutdown(5_000);
      await built.jobs.shutdown({ graceMs: 5_000 });
    },
  };
}

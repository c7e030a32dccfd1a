// Ingest service process: config -> object store -> server; SIGTERM/SIGINT drain calls and leave running
// imports to resume on the next start.
import {
  createLogger,
  ensureDeidSalt,
  initTracing,
  loadConfigOrExit,
  MinioObjectStore,
  openObjectStore,
  processMetricsRegistry,
  startMetrics,
} from "@synthmri/platform";
import { shutdownOnSignals, tlsFromConfig } from "@synthmri/rpc";
import { startServer } from "./server.js";

const config = loadConfigOrExit();
const logger = createLogger({ name: "ingest", level: config.logLevel });
// OpenTelemetry traces: off unless OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT ask for them.
const tracing = await initTracing({ service: "ingest", logger });
const opened = await openObjectStore(config, logger);
const salt = await ensureDeidSalt(config);
const endpoint = config.s3.endpoint ?? opened.embeddedEndpoint;
const running = await startServer(
  {
    store: opened.store,
    salt,
    logger,
    jobConcurrency: config.jobConcurrency,
    keepIdMapping: config.keepIdMapping,
    importPolicy: config.imports,
    openBucket: (bucket) =>
      new MinioObjectStore({
        endpoint: endpoint ?? "",
        accessKey: config.s3.accessKey ?? opened.childEnv.S3_ACCESS_KEY ?? "",
        secretKey: config.s3.secretKey ?? opened.childEnv.S3_SECRET_KEY ?? "",
        bucket,
        region: config.s3.region,
      }),
  },
  {
    host: config.host,
    port: config.services.ingest.port,
    maxMessageBytes: config.grpc.maxMessageBytes,
    clientStreamIdleMs: config.grpc.clientStreamIdleMs,
    tls: tlsFromConfig(config.tls),
  },
);
const metrics = await startMetrics(config, processMetricsRegistry(), { service: "ingest", jobs: running.jobs, logger });
logger.info("ingest service ready", { port: running.port, embeddedS3: opened.embeddedEndpoint });
shutdownOnSignals(running.server, {
  logger,
  drainTimeoutMs: config.grpc.shutdownGraceMs,
  onStopped: async () => {
    await running.jobs.shutdown({ graceMs: config.grpc.shutdownGraceMs });
    await metrics?.close();
    await opened.close();
    await tracing.shutdown();
  },
});

// Generator process: config, logger, object store (embedded when S3_ENDPOINT is unset), compute backend, job
// runner with recovery (interrupted trainings resume from their last checkpoint), the internal gRPC server on
// GENERATOR_PORT, the partner listener on PARTNER_PORT (only with PARTNER_TOKENS_FILE), graceful shutdown on
// SIGTERM/SIGINT.
import { initBackend } from "@synthmri/ml";
import {
  ArtifactStore,
  type Config,
  createLogger,
  initTracing,
  JobRunner,
  type Logger,
  loadConfigOrExit,
  MinioObjectStore,
  openObjectStore,
  processMetricsRegistry,
  startMetrics,
  trainProcessesFromConfig,
} from "@synthmri/platform";
import { shutdownOnSignals, tlsFromConfig } from "@synthmri/rpc";
import { loadPartnerConfig } from "./partner/adapters/partner-config.js";
import { startServer } from "./server.js";

/** Parent jobs wait on their members inside the runner, so it admits many; GAN work is limited separately. */
const RUNNER_CONCURRENCY = 1024;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ name: "generator", level: config.logLevel });
  // OpenTelemetry traces: off unless OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT ask for them.
  const tracing = await initTracing({ service: "generator", logger });
  const backend = await initBackend({ preferred: config.tfBackend, logger });
  const objects = await openObjectStore(config, logger);
  const provenance = { service: "generator", backend: backend.name };
  const artifacts = new ArtifactStore({ store: objects.store, logger, provenance });
  const jobs = new JobRunner({ store: objects.store, service: "generator", logger, concurrency: RUNNER_CONCURRENCY });
  const tls = tlsFromConfig(config.tls);
  const deps = {
    artifacts,
    store: objects.store,
    jobs,
    logger,
    provenance,
    workConcurrency: config.jobConcurrency,
    // Members train in child processes (one core each) reaching this same store.
    trainProcesses: trainProcessesFromConfig(config, objects),
  };
  const partnerConfig = await loadPartnerConfig(config.partnerTokensFile);
  const started = await startServer(deps, {
    host: config.host,
    port: config.services.generator.port,
    server: { maxMessageBytes: config.grpc.maxMessageBytes, tls },
    // Partners get their own listener (PartnerService + their own jobs, token on every call); none without
    // PARTNER_TOKENS_FILE. PartnerService is never served on the internal port.
    partner: { config: partnerConfig, port: config.partnerPort, presignStore: publicPresignStore(config, logger) },
  });
  const { resumed, failed } = await jobs.recover(started.resumeHandlers);
  logger.info("generator ready", {
    port: started.port,
    partnerPort: started.partner?.port ?? null,
    backend: backend.name,
    resumedJobs: resumed.length,
    failedJobs: failed.length,
  });
  const metrics = await startMetrics(config, processMetricsRegistry(), {
    service: "generator",
    jobs,
    backend: backend.name,
    logger,
  });
  // Both listeners stop accepting and drain together, within one grace period.
  shutdownOnSignals(started, {
    logger,
    drainTimeoutMs: config.grpc.shutdownGraceMs,
    onStopped: async () => {
      await jobs.shutdown({ graceMs: config.grpc.shutdownGraceMs });
      await metrics?.close();
      await objects.close();
      await tracing.shutdown();
    },
  });
}

main().catch((e) => {
  process.stderr.write(`generator failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

/**
 * The bucket through PARTNER_PUBLIC_S3_ENDPOINT: only signs URLs (locally: the region is configured, so no call
 * reaches that address from here). Undefined when unset, or with the embedded store (no credentials to sign with).
 */
function publicPresignStore(config: Config, logger: Logger): MinioObjectStore | undefined {
  const endpoint = config.partnerPublicS3Endpoint;
  if (!endpoint) return undefined;
  const { accessKey, secretKey, bucket, region } = config.s3;
  if (!config.s3.endpoint || !accessKey || !secretKey) {
    logger.warn("PARTNER_PUBLIC_S3_ENDPOINT ignored: it needs S3_ENDPOINT and its keys (not the embedded store)");
    return undefined;
  }
  return new MinioObjectStore({ endpoint, accessKey, secretKey, bucket, region });
}

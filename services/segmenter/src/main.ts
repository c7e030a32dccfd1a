// Segmenter process: config, logger, object store (embedded when S3_ENDPOINT is unset), compute backend,
// job runner (interrupted trainings resume from their checkpoints), the gRPC server on SEGMENTER_PORT,
// graceful shutdown on SIGTERM/SIGINT. Prints one "segmenter ready" log line with the bound port.
import { initBackend } from "@synthmri/ml";
import {
  ArtifactStore,
  createLogger,
  JobRunner,
  loadConfigOrExit,
  openObjectStore,
  processMetricsRegistry,
  startMetrics,
} from "@synthmri/platform";
import { shutdownOnSignals, tlsFromConfig } from "@synthmri/rpc";
import { startServer } from "./server.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ name: "segmenter", level: config.logLevel });
  const backend = await initBackend({ preferred: config.tfBackend, logger });
  const objects = await openObjectStore(config, logger);
  const provenance = { service: "segmenter", backend: backend.name };
  const artifacts = new ArtifactStore({ store: objects.store, logger, provenance });
  const jobs = new JobRunner({
    store: objects.store,
    service: "segmenter",
    logger,
    concurrency: config.jobConcurrency,
  });
  const tls = tlsFromConfig(config.tls);
  const started = await startServer(
    { artifacts, jobs, logger, provenance },
    {
      host: config.host,
      port: config.services.segmenter.port,
      server: { maxMessageBytes: config.grpc.maxMessageBytes, tls },
    },
  );
  logger.info("segmenter ready", { port: started.port, backend: backend.name });
  const metrics = await startMetrics(config, processMetricsRegistry(), {
    service: "segmenter",
    jobs,
    backend: backend.name,
    logger,
  });
  shutdownOnSignals(started.server, {
    logger,
    drainTimeoutMs: config.grpc.shutdownGraceMs,
    onStopped: async () => {
      await jobs.shutdown({ graceMs: config.grpc.shutdownGraceMs });
      await metrics?.close();
      started.deps.registry.dispose();
      await objects.close();
    },
  });
}

main().catch((e) => {
  process.stderr.write(`segmenter failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

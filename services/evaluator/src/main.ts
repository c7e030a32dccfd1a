// Evaluator process: config, logger, object store (embedded when S3_ENDPOINT is unset), compute backend (the
// feature distance runs a small net), job runner with recovery, datasets read from the store, a client of the
// segmenter, the gRPC server on EVALUATOR_PORT, graceful shutdown on SIGTERM/SIGINT.
import { SegmenterService } from "@synthmri/contracts";
import { initBackend } from "@synthmri/ml";
import {
  ArtifactStore,
  createLogger,
  FailedPrecondition,
  initTracing,
  JobRunner,
  loadConfigOrExit,
  openObjectStore,
  processMetricsRegistry,
  startMetrics,
} from "@synthmri/platform";
import { createClient, shutdownOnSignals, tlsFromConfig } from "@synthmri/rpc";
import { StoreSliceSource } from "./adapters/dataset-store.js";
import { GrpcSegmenter } from "./adapters/segmenter-client.js";
import { resumeHandlers } from "./handlers/job-work.js";
import { startServer } from "./server.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ name: "evaluator", level: config.logLevel });
  // OpenTelemetry traces: off unless OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT ask for them.
  const tracing = await initTracing({ service: "evaluator", logger });
  const segmenterAddr = config.services.segmenter.addr;
  if (!segmenterAddr)
    throw new FailedPrecondition("SEGMENTER_ADDR must be set (or its port non-zero) for the evaluator");
  const backend = await initBackend({ preferred: config.tfBackend, logger });
  const objects = await openObjectStore(config, logger);
  const provenance = { service: "evaluator", backend: backend.name };
  const artifacts = new ArtifactStore({ store: objects.store, logger, provenance });
  const jobs = new JobRunner({
    store: objects.store,
    service: "evaluator",
    logger,
    concurrency: config.jobConcurrency,
  });
  const tls = tlsFromConfig(config.tls);
  const clientOptions = { tls, maxMessageBytes: config.grpc.maxMessageBytes };
  const segmenter = createClient(SegmenterService, segmenterAddr, clientOptions);
  const deps = {
    artifacts,
    jobs,
    source: new StoreSliceSource(artifacts),
    segmenter: new GrpcSegmenter(segmenter),
    logger,
    provenance,
  };
  const started = await startServer(deps, {
    host: config.host,
    port: config.services.evaluator.port,
    server: { maxMessageBytes: config.grpc.maxMessageBytes, tls },
  });
  const metrics = await startMetrics(config, processMetricsRegistry(), {
    service: "evaluator",
    jobs,
    backend: backend.name,
    logger,
  });
  const { resumed, failed } = await jobs.recover(resumeHandlers(deps));
  logger.info("evaluator ready", { port: started.port, resumedJobs: resumed.length, failedJobs: failed.length });
  shutdownOnSignals(started.server, {
    logger,
    drainTimeoutMs: config.grpc.shutdownGraceMs,
    onStopped: async () => {
      await jobs.shutdown({ graceMs: config.grpc.shutdownGraceMs });
      segmenter.close();
      await metrics?.close();
      await objects.close();
      await tracing.shutdown();
    },
  });
}

main().catch((e) => {
  process.stderr.write(`evaluator failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

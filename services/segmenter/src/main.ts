// Segmenter process: config, logger, object store (embedded when S3_ENDPOINT is unset), compute backend,
// job runner (interrupted trainings resume from their checkpoints), the gRPC server on SEGMENTER_PORT,
// graceful shutdown on SIGTERM/SIGINT. Prints one "segmenter ready" log line with the bound port.
import {
  initTracing,
  JobRunner,
  loadConfigOrExit,
  processMetricsRegistry,
  startMetrics,
  trainProcessesFromConfig,
} from "@synthmri/platform";
import { shutdownOnSignals, tlsFromConfig } from "@synthmri/rpc";
import { openProcessDeps } from "./process-deps.js";
import { startServer } from "./server.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const { logger, objects, artifacts, provenance, backend } = await openProcessDeps(config, "segmenter");
  // OpenTelemetry traces: off unless OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT ask for them.
  const tracing = await initTracing({ service: "segmenter", logger });
  const jobs = new JobRunner({
    store: objects.store,
    service: "segmenter",
    logger,
    // With training children a running job mostly waits for a training slot: admit enough jobs to keep
    // every slot busy (the runs of the next job start as soon as a run of this one ends).
    concurrency: Math.max(config.jobConcurrency, config.trainProcesses),
  });
  const tls = tlsFromConfig(config.tls);
  const trainProcesses = trainProcessesFromConfig(config, objects);
  const started = await startServer(
    { artifacts, jobs, logger, provenance, trainProcesses },
    {
      host: config.host,
      port: config.services.segmenter.port,
      server: { maxMessageBytes: config.grpc.maxMessageBytes, clientStreamIdleMs: config.grpc.clientStreamIdleMs, tls },
    },
  );
  logger.info("segmenter ready", { port: started.port, backend });
  const metrics = await startMetrics(config, processMetricsRegistry(), {
    service: "segmenter",
    jobs,
    backend,
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
      await tracing.shutdown();
    },
  });
}

main().catch((e) => {
  process.stderr.write(`segmenter failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

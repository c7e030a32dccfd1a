// The Prometheus scrape endpoint of a service process: GET /metrics (text exposition) and GET /healthz.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "../config/config.js";
import type { JobRunner } from "../jobs/job-runner.js";
import type { Logger } from "@synthmri/core";
import { instrumentJobs } from "./job-metrics.js";
import { collectDefaultMetrics } from "prom-client";
import { type MetricsRegistry, setComputeBackend } from "./registry.js";

export interface MetricsServer {
  /** The bound port (METRICS_PORT=0 picks a free one). */
  port: number;
  /** "http://host:port" */
  url: string;
  close(): Promise<void>;
}

export interface StartMetricsOptions {
  logger?: Logger;
  /** Labels every series service="<name>" (set once per registry). */
  service?: string;
  /** Job runners whose progress and state changes to export (instrumentJobs). */
  jobs?: Pick<JobRunner, "subscribe"> | Pick<JobRunner, "subscribe">[];
  /** The compute backend in use (setComputeBackend), e.g. initBackend()'s name. */
  backend?: string;
  /** Node process metrics (CPU, memory, event loop, GC); default true. */
  processMetrics?: boolean;
  /** /healthz answers 503 while this returns false (e.g. during shutdown); default always healthy. */
  healthy?: () => boolean;
}

/**
 * Serves `registry` on METRICS_PORT (bound on HOST, like the gRPC server). Returns undefined when METRICS_PORT
 * is unset: metrics are opt-in so that local runs and tests open no extra port.
 * main.ts: `const metrics = await startMetrics(config, processMetricsRegistry(), { service: "ingest", jobs, backend,
 * logger })` and `await metrics?.close()` on stop. RPC and object-store metrics are recorded in
 * processMetricsRegistry() by createServer and openObjectStore without any wiring.
 */
export async function startMetrics(
  config: Pick<Config, "host" | "metricsPort">,
  registry: MetricsRegistry,
  options: StartMetricsOptions = {},
): Promise<MetricsServer | undefined> {
  if (config.metricsPort === undefined) return undefined;
  if (options.service) registry.setDefaultLabels({ service: options.service });
  if ((options.processMetrics ?? true) && !registry.getSingleMetric("process_cpu_seconds_total"))
    collectDefaultMetrics({ register: registry });
  if (options.backend) setComputeBackend(registry, options.backend);
  const unsubscribe = [options.jobs ?? []].flat().map((runner) => instrumentJobs(runner, registry));
  const healthy = options.healthy ?? (() => true);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (e: unknown) => {
          options.logger?.error("metrics collection failed", { error: e instanceof Error ? e.message : String(e) });
          res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
        },
      );
    } else if (path === "/healthz") {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "shutting down\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
    }
  });
  // Scrapers keep connections open; do not let them hold the process on shutdown.
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: Error) =>
        reject(new Error(`cannot serve metrics on ${config.host}:${config.metricsPort}: ${e.message} (METRICS_PORT)`)),
      );
      server.listen(config.metricsPort, config.host, () => resolve());
    });
  } catch (e) {
    for (const u of unsubscribe) u();
    throw e;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  options.logger?.info("metrics endpoint listening", { port });
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const u of unsubscribe) u();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// RPC counts and latency per method and status code, as a server interceptor (packages/rpc owns the call
// lifecycle, so the numbers include time spent in interceptors and streaming, not just the handler).
import * as grpc from "@grpc/grpc-js";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ServerInterceptor } from "./context.js";

/** Seconds; from a cache hit (1 ms) to a training-sized stream (10 min). */
const LATENCY_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120, 600];

export interface MetricsInterceptorOptions {
  /** Leave grpc.health.v1 / reflection calls out (probes every few seconds would dominate); default true. */
  skipGrpcInternals?: boolean;
}

/**
 * `synthmri_rpc_requests_total{method,code}`, `synthmri_rpc_duration_seconds{method,code}` (histogram) and
 * `synthmri_rpc_in_flight{method}`. `method` is the full path ("/synthmri.ingest.v1.IngestService/ListDatasets"),
 * `code` the status name ("OK", "NOT_FOUND", ...). Pass it in createServer({ interceptors: [...] }).
 */
export function metricsInterceptor(registry: Registry, options: MetricsInterceptorOptions = {}): ServerInterceptor {
  const skip = options.skipGrpcInternals ?? true;
  const requests =
    (registry.getSingleMetric("synthmri_rpc_requests_total") as Counter<"method" | "code"> | undefined) ??
    new Counter({
      name: "synthmri_rpc_requests_total",
      help: "Finished RPCs by method and status code",
      labelNames: ["method", "code"],
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric("synthmri_rpc_duration_seconds") as Histogram<"method" | "code"> | undefined) ??
    new Histogram({
      name: "synthmri_rpc_duration_seconds",
      help: "RPC latency (for streams: until the last message) by method and status code",
      labelNames: ["method", "code"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  const inFlight =
    (registry.getSingleMetric("synthmri_rpc_in_flight") as Gauge<"method"> | undefined) ??
    new Gauge({
      name: "synthmri_rpc_in_flight",
      help: "RPCs running now by method",
      labelNames: ["method"],
      registers: [registry],
    });
  // onEnd runs for every call, onCall only when earlier interceptors let it through: pair them explicitly.
  const STARTED = "metrics.started";
  return {
    onCall(call) {
      if (skip && call.service.startsWith("grpc.")) return;
      call.state[STARTED] = true;
      inFlight.inc({ method: call.method });
    },
    onEnd(call, outcome) {
      if (skip && call.service.startsWith("grpc.")) return;
      if (call.state[STARTED]) inFlight.dec({ method: call.method });
      const labels = { method: call.method, code: grpc.status[outcome.code] ?? String(outcome.code) };
      requests.inc(labels);
      duration.observe(labels, outcome.durationMs / 1000);
    },
  };
}

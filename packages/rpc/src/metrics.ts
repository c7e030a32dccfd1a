// RPC counts and latency per method and status code, as a server interceptor (packages/rpc owns the call
// lifecycle, so the numbers include time spent in interceptors and streaming, not just the handler): the suite's
// own synthmri_rpc_* series and, beside them, the standard grpc_server_* names.
import * as grpc from "@grpc/grpc-js";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { CallInfo, ServerInterceptor } from "./context.js";

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
  const standard = standardGrpcMetrics(registry);
  // onEnd runs for every call, onCall only when earlier interceptors let it through: pair them explicitly.
  const STARTED = "metrics.started";
  return {
    onCall(call) {
      if (skip && call.service.startsWith("grpc.")) return;
      call.state[STARTED] = true;
      inFlight.inc({ method: call.method });
      standard.started.inc(grpcLabels(call));
    },
    onEnd(call, outcome) {
      if (skip && call.service.startsWith("grpc.")) return;
      if (call.state[STARTED]) inFlight.dec({ method: call.method });
      const labels = { method: call.method, code: grpc.status[outcome.code] ?? String(outcome.code) };
      requests.inc(labels);
      duration.observe(labels, outcome.durationMs / 1000);
      const g = grpcLabels(call);
      standard.handled.inc({ ...g, grpc_code: goCodeName(outcome.code) });
      standard.handling.observe(g, outcome.durationMs / 1000);
      if (outcome.messagesReceived) standard.received.inc(g, outcome.messagesReceived);
      if (outcome.messagesSent) standard.sent.inc(g, outcome.messagesSent);
    },
  };
}

type GrpcLabel = "grpc_type" | "grpc_service" | "grpc_method";

/**
 * The grpc-ecosystem (go-grpc-prometheus / go-grpc-middleware) server metrics, which ready-made gRPC dashboards
 * and alerts query: `grpc_server_started_total`, `grpc_server_handled_total{grpc_code}`,
 * `grpc_server_handling_seconds` (histogram), `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`,
 * labelled grpc_type (unary|client_stream|server_stream|bidi_stream), grpc_service (full name), grpc_method.
 * grpc_code is spelled as Go's codes.Code (OK, NotFound, Canceled, ...). Stream message counts are added when a
 * call ends, not per message.
 */
function standardGrpcMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });
  const labels: GrpcLabel[] = ["grpc_type", "grpc_service", "grpc_method"];
  return {
    started: counter("grpc_server_started_total", "Total number of RPCs started on the server.", labels),
    handled: counter(
      "grpc_server_handled_total",
      "Total number of RPCs completed on the server, regardless of success or failure.",
      [...labels, "grpc_code"],
    ),
    received: counter(
      "grpc_server_msg_received_total",
      "Total number of RPC stream messages received on the server.",
      labels,
    ),
    sent: counter("grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.", labels),
    handling:
      (registry.getSingleMetric("grpc_server_handling_seconds") as Histogram<GrpcLabel> | undefined) ??
      new Histogram({
        name: "grpc_server_handling_seconds",
        help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
        labelNames: labels,
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  };
}

function grpcLabels(call: CallInfo): Record<GrpcLabel, string> {
  return {
    grpc_type: call.type ?? "unary",
    grpc_service: call.service,
    grpc_method: call.method.slice(call.method.lastIndexOf("/") + 1),
  };
}

/** Go's codes.Code.String(): the spelling grpc-ecosystem dashboards filter on (grpc_code!="OK"). */
const GO_CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

export function goCodeName(code: number): string {
  return GO_CODE_NAMES[code] ?? `Code(${code})`;
}

// OpenTelemetry tracing of a process (service, console, CLI): the one place that registers a tracer provider,
// the W3C trace-context propagator and the async context manager. Off unless the standard OTEL_* environment asks
// for an exporter; when off nothing is loaded or registered, and the rpc layer skips span work entirely
// (tracingEnabled() is false), so tracing costs one boolean test per call.
import { context, type Context, propagation, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import type { Logger } from "@synthmri/core";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

export interface TracingOptions {
  /** service.name (OTEL_SERVICE_NAME overrides it), e.g. "ingest" or "synthmri-cli". */
  service: string;
  /** service.version on every span. */
  version?: string;
  env?: NodeJS.ProcessEnv;
  /** Export here instead of what the environment says, span by span (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
  logger?: Logger;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes pending spans and unregisters everything (call on process stop; tests call it between cases). */
  shutdown(): Promise<void>;
}

const TRACER_NAME = "synthmri";
let active = false;

/** True while a tracer provider set up by initTracing is registered. */
export function tracingEnabled(): boolean {
  return active;
}

/** The suite's tracer (a no-op one while tracing is off). */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

export type TraceExporterChoice = "otlp" | "console" | "none";

/**
 * Which exporter the standard environment asks for. Unlike the SDK default (otlp), tracing is off unless one of
 * OTEL_TRACES_EXPORTER=otlp|console, OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set;
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off whatever else is set.
 */
export function traceExporterFromEnv(env: NodeJS.ProcessEnv = process.env): TraceExporterChoice {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return "none";
  const names = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.includes("none")) return "none";
  if (names.includes("otlp")) return "otlp";
  if (names.includes("console")) return "console";
  if (names.length > 0) {
    throw new Error(
      `OTEL_TRACES_EXPORTER="${env.OTEL_TRACES_EXPORTER}" is not supported: use otlp, console or none (docs: deploy/README.md, Observability)`,
    );
  }
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? "otlp" : "none";
}

const off: Tracing = { enabled: false, shutdown: async () => {} };

/**
 * Sets up tracing for this process when the environment (or options.exporter) asks for it. The SDK and the OTLP
 * exporter are imported only then. OTLP goes over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), the
 * exporter reading the standard OTEL_EXPORTER_OTLP_* variables (headers, timeout) itself; OTEL_TRACES_SAMPLER and
 * OTEL_RESOURCE_ATTRIBUTES are honoured.
 */
export async function initTracing(options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  const choice = options.exporter ? "test" : traceExporterFromEnv(env);
  if (choice === "none") return off;
  if (active) throw new Error("initTracing() was already called in this process; call shutdown() first");
  const [{ BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter }, core, hooks, res] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/core"),
      import("@opentelemetry/context-async-hooks"),
      import("@opentelemetry/resources"),
    ]);
  let processor: import("@opentelemetry/sdk-trace-base").SpanProcessor;
  if (options.exporter) processor = new SimpleSpanProcessor(options.exporter);
  else if (choice === "console") processor = new SimpleSpanProcessor(new ConsoleSpanExporter());
  else {
    const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
    if (protocol && protocol !== "http/json" && protocol !== "http/protobuf") {
      options.logger?.warn("OTLP protocol not supported here; sending OTLP/HTTP (JSON) instead", { protocol });
    }
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    processor = new BatchSpanProcessor(new OTLPTraceExporter());
  }
  const resource = res
    .resourceFromAttributes({
      "service.name": env.OTEL_SERVICE_NAME || options.service,
      ...(options.version ? { "service.version": options.version } : {}),
    })
    .merge(res.detectResources({ detectors: [res.envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  active = true;
  options.logger?.info("tracing on", {
    exporter: choice === "test" ? "custom" : choice,
    endpoint:
      choice === "otlp" ? (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT) : undefined,
  });
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown() {
      stopped ??= (async () => {
        try {
          await provider.shutdown();
        } catch (e) {
          options.logger?.warn("tracing: flushing spans failed", { error: e instanceof Error ? e.message : String(e) });
        }
        active = false;
        trace.disable();
        propagation.disable();
        context.disable();
      })();
      return stopped;
    },
  };
}

/** The trace and span id of the active span, for log lines; undefined when there is none. */
export function activeTraceIds(ctx?: Context): { trace_id: string; span_id: string } | undefined {
  if (!active) return undefined;
  const sc = trace.getSpan(ctx ?? context.active())?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/**
 * Runs fn inside a span named `name` (a CLI command, a unit of background work) so that the calls it makes share
 * one trace; just runs fn while tracing is off.
 */
export async function inSpan<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!active) return fn();
  return tracer().startActiveSpan(name, async (span) => {
    try {
      return await fn();
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw e;
    } finally {
      span.end();
    }
  });
}

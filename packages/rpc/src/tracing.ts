// gRPC spans and W3C trace context (traceparent, tracestate) in gRPC metadata, following the OpenTelemetry RPC
// semantic conventions. Everything here is skipped while tracing is off (platform tracingEnabled()).
// Spans carry the method and the status code only: no request fields, peers, metadata or error details (details
// can name files; ids in requests are de-identified but need not be in traces to follow a call).
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import * as grpc from "@grpc/grpc-js";
import { tracer, tracingEnabled } from "@synthmri/platform";

const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const values = md.get(key).filter((v): v is string => typeof v === "string");
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (md, key, value) => md.set(key, value),
};

/** Server-side codes that mark the span as an error (the semantic conventions' list). */
const SERVER_ERROR_CODES = new Set([
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNIMPLEMENTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

function rpcAttributes(path: string) {
  const [service = "", method = ""] = path.replace(/^\//, "").split("/");
  return { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method };
}

function endSpan(span: Span, code: grpc.status, isServer: boolean): void {
  span.setAttribute("rpc.grpc.status_code", code);
  if (isServer ? SERVER_ERROR_CODES.has(code) : code !== grpc.status.OK) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: grpc.status[code] ?? String(code) });
  }
  span.end();
}

export interface ServerSpan {
  /** Runs fn with the span active (logs inside carry its trace id, outgoing calls and jobs become children). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  end(code: grpc.status): void;
}

/**
 * A SERVER span for a call, child of the trace context in its metadata only (never of whatever context the
 * process happens to be in); undefined when tracing is off or for grpc.health / reflection calls.
 */
export function startServerSpan(
  path: string,
  serviceName: string,
  metadata: grpc.Metadata,
  trustClient = true,
): ServerSpan | undefined {
  if (!tracingEnabled() || serviceName.startsWith("grpc.")) return undefined;
  const incoming = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  // An untrusted caller's context becomes a link, not the parent: a new trace under the server's own sampling.
  const remote = trustClient ? undefined : trace.getSpanContext(incoming);
  const parent = trustClient ? incoming : ROOT_CONTEXT;
  const span = tracer().startSpan(
    path.replace(/^\//, ""),
    {
      kind: SpanKind.SERVER,
      attributes: rpcAttributes(path),
      links: remote && trace.isSpanContextValid(remote) ? [{ context: remote }] : undefined,
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span);
  return {
    run: (fn) => context.with(ctx, fn),
    end: (code) => endSpan(span, code, true),
  };
}

export interface ClientSpan {
  /** Adds traceparent / tracestate for this call to the outgoing metadata. */
  inject(md: grpc.Metadata): grpc.Metadata;
  end(code: grpc.status): void;
  /** Ends the span when the response stream ends (OK), fails (its code) or is abandoned (CANCELLED). */
  wrap<T>(stream: AsyncIterable<T>): AsyncIterable<T>;
  /** Ends the span when the promise settles. */
  settle<T>(result: Promise<T>): Promise<T>;
}

const untraced: ClientSpan = {
  inject: (md) => md,
  end: () => {},
  wrap: (s) => s,
  settle: (p) => p,
};

/** A CLIENT span for an outgoing call, child of the active context (a server span, a job, a CLI command). */
export function startClientSpan(path: string): ClientSpan {
  if (!tracingEnabled()) return untraced;
  const span = tracer().startSpan(
    path.replace(/^\//, ""),
    { kind: SpanKind.CLIENT, attributes: rpcAttributes(path) },
    context.active(),
  );
  const ctx: Context = trace.setSpan(context.active(), span);
  let ended = false;
  const end = (code: grpc.status) => {
    if (ended) return;
    ended = true;
    endSpan(span, code, false);
  };
  return {
    inject(md) {
      propagation.inject(ctx, md, metadataSetter);
      return md;
    },
    end,
    async *wrap(stream) {
      try {
        yield* stream;
        end(grpc.status.OK);
      } catch (e) {
        end(codeOf(e));
        throw e;
      } finally {
        end(grpc.status.CANCELLED);
      }
    },
    settle(result) {
      return result.then(
        (v) => {
          end(grpc.status.OK);
          return v;
        },
        (e: unknown) => {
          end(codeOf(e));
          throw e;
        },
      );
    },
  };
}

function codeOf(e: unknown): grpc.status {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" ? code : grpc.status.UNKNOWN;
}

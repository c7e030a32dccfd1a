// Server builder: protobuf-es services on grpc-js with health, reflection, status mapping, interceptors,
// cancellation signals, backpressure, OpenTelemetry server spans and graceful shutdown.
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { DescMethod } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { ServiceInfoService } from "@synthmri/contracts";
import { Cancelled, DeadlineExceeded, InvalidInput, type Logger, processMetricsRegistry } from "@synthmri/platform";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Registry } from "prom-client";
import { isDecodeFailure } from "./codec.js";
import type { CallContext, CallInfo, CallType, ServerInterceptor } from "./context.js";
import { serverCredentials, type TlsOptions } from "./credentials.js";
import type { ServiceImpl } from "./handler-types.js";
import { noopLogger } from "./logger.js";
import { metricsInterceptor } from "./metrics.js";
import { addReflection } from "./reflection.js";
import { serviceInfo } from "./service-info.js";
import { methodPath, toServiceDefinition } from "./service-definition.js";
import { statusFromError, toServiceError } from "./status.js";
import { readMessages } from "./stream-reader.js";
import { startServerSpan } from "./tracing.js";

export interface KeepaliveOptions {
  /** Ping an idle connection after this many ms (default 60 s). */
  timeMs?: number;
  /** Close the connection when a ping is not answered within this many ms (default 20 s). */
  timeoutMs?: number;
}

export interface ServerOptions {
  logger?: Logger;
  /** Largest message accepted or sent (default 8 MiB; tensors travel as ≤ 1 MiB chunks). */
  maxMessageBytes?: number;
  keepalive?: KeepaliveOptions;
  /** TLS / mTLS from PEM files; plaintext when absent. */
  tls?: TlsOptions;
  /** Run in order before each handler; onEnd hooks run after each call. */
  interceptors?: ServerInterceptor[];
  /** Extra grpc-js channel options (e.g. tuning for benchmarks). */
  channelOptions?: grpc.ChannelOptions;
  /** Where RPC counts/latency go (metricsInterceptor); default the process registry, false = none. */
  metrics?: Registry | false;
  /**
   * Serve grpc.reflection and synthmri.common.v1.ServiceInfoService (default true). A listener facing outside
   * parties turns them off: they would describe its services and compute backend to anyone, before authentication.
   */
  reflection?: boolean;
  /**
   * A client or bidi stream whose handler waits this long for the client's next message is ended with
   * DEADLINE_EXCEEDED (default 60 s): a client that opens an upload and stalls must not hold it open forever.
   */
  clientStreamIdleMs?: number;
  /**
   * Continue the trace a client sends in `traceparent` (default true). A listener facing outside parties sets false:
   * its calls start traces of their own (linked to the caller's), so that outsiders cannot choose trace ids or
   * force sampling.
   */
  trustTraceContext?: boolean;
}

export const DEFAULT_CLIENT_STREAM_IDLE_MS = 60_000;

export interface RpcServer {
  /** Registers a service; methods missing from `impl` answer UNIMPLEMENTED. Marks it SERVING. */
  add<S extends GenServiceMethods>(service: GenService<S>, impl: Partial<ServiceImpl<S>>): RpcServer;
  /** Sets the grpc.health.v1 status of a service ("" is the whole server). */
  setServing(serviceName: string, serving: boolean): void;
  /**
   * Binds and starts; returns the bound port (port 0 picks a free one). Adds reflection for added services
   * unless ServerOptions.reflection is false.
   */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, lets in-flight calls finish for up to timeoutMs, then aborts them and closes. */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Number of calls whose handlers are running. */
  readonly inFlight: number;
  readonly grpcServer: grpc.Server;
}

/** What every kind of grpc-js server call offers. */
type SurfaceCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer" | "getDeadline" | "cancelled"> &
  NodeJS.EventEmitter;

export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Messages a call has received and sent so far (for grpc_server_msg_*_total). */
interface MessageCounts {
  received: number;
  sent: number;
}

const CALL_TYPES: Record<DescMethod["methodKind"], CallType> = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
};

/** "host:port" as gRPC targets and clients want it: an IPv6 host gets its brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function createServer(options: ServerOptions = {}): RpcServer {
  const logger = options.logger ?? noopLogger;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const idleMs = options.clientStreamIdleMs ?? DEFAULT_CLIENT_STREAM_IDLE_MS;
  const metrics = options.metrics ?? processMetricsRegistry();
  // Metrics first so that calls refused by auth interceptors are counted too.
  const interceptors = [...(metrics ? [metricsInterceptor(metrics)] : []), ...(options.interceptors ?? [])];
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
    "grpc.keepalive_time_ms": options.keepalive?.timeMs ?? 60_000,
    "grpc.keepalive_timeout_ms": options.keepalive?.timeoutMs ?? 20_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 10_000,
    ...options.channelOptions,
  });
  const health = new HealthImplementation({ "": "SERVING" });
  health.addToServer(server);
  const services: GenService<GenServiceMethods>[] = [];
  const running = new Set<AbortController>();
  let listening = false;
  let stopping: Promise<void> | undefined;

  function setStatus(name: string, status: ServingStatus) {
    health.setStatus(name, status);
  }

  function wrap(method: DescMethod, handler: unknown): grpc.UntypedHandleCall {
    const path = methodPath(method);
    const serviceName = method.parent.typeName;
    const log = logger.child({ method: path });

    // Shared call lifecycle: context, signal, interceptors, status mapping, onEnd hooks.
    async function run(
      call: SurfaceCall,
      body: (ctx: CallContext, messages: MessageCounts) => Promise<void>,
      fail: (status: grpc.StatusObject) => void,
    ): Promise<void> {
      const span = startServerSpan(path, serviceName, call.metadata, options.trustTraceContext ?? true);
      return span ? span.run(() => lifecycle(call, body, fail, span.end)) : lifecycle(call, body, fail);
    }

    async function lifecycle(
      call: SurfaceCall,
      body: (ctx: CallContext, messages: MessageCounts) => Promise<void>,
      fail: (status: grpc.StatusObject) => void,
      endSpan?: (code: grpc.status) => void,
    ): Promise<void> {
      const started = performance.now();
      const messages: MessageCounts = { received: 0, sent: 0 };
      const controller = new AbortController();
      running.add(controller);
      const onCancel = () => controller.abort(new Cancelled(`call ${path} cancelled by the client or its deadline`));
      call.on("cancelled", onCancel);
      const deadline = call.getDeadline();
      const info: CallInfo = {
        method: path,
        service: serviceName,
        type: CALL_TYPES[method.methodKind],
        metadata: call.metadata,
        peer: call.getPeer(),
        state: {},
      };
      const ctx: CallContext = {
        signal: controller.signal,
        metadata: call.metadata,
        peer: info.peer,
        method: path,
        deadline: deadline instanceof Date ? deadline.getTime() : deadline,
        logger: log,
        state: info.state,
      };
      let code: grpc.status = grpc.status.OK;
      let details: string | undefined;
      try {
        for (const i of interceptors) await i.onCall?.(info);
        await body(ctx, messages);
      } catch (e) {
        const status = controller.signal.aborted && !(e instanceof Error && "kind" in e) ? cancelledStatus(e) : null;
        const s = status ?? statusFromError(e, path, log);
        code = s.code;
        details = s.details;
        if (!call.cancelled) fail(s);
      } finally {
        running.delete(controller);
        call.removeListener("cancelled", onCancel);
        if (call.cancelled && code === grpc.status.OK) code = grpc.status.CANCELLED;
        const outcome = {
          code,
          details,
          durationMs: performance.now() - started,
          messagesReceived: messages.received,
          messagesSent: messages.sent,
        };
        for (const i of interceptors) {
          try {
            i.onEnd?.(info, outcome);
          } catch (e) {
            log.warn("interceptor onEnd threw", { error: String(e) });
          }
        }
        endSpan?.(code);
      }
    }

    if (typeof handler !== "function") {
      return (call: SurfaceCall, callback?: grpc.sendUnaryData<unknown>) => {
        const err = toServiceError({
          code: grpc.status.UNIMPLEMENTED,
          details: `${path} is not implemented yet by this server`,
          metadata: new grpc.Metadata(),
        });
        if (callback) callback(err);
        else (call as grpc.ServerWritableStream<unknown, unknown>).emit("error", err);
      };
    }
    const fn = handler as (...args: unknown[]) => unknown;

    switch (method.methodKind) {
      case "unary":
        return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          let replied = false;
          void run(
            call,
            async (ctx, messages) => {
              const req = checkDecoded(call.request);
              messages.received++;
              const res = await fn(req, ctx);
              replied = true;
              callback(null, res);
              messages.sent++;
            },
            (s) => {
              if (!replied) callback(toServiceError(s));
            },
          );
        };
      case "server_streaming":
        return (call: grpc.ServerWritableStream<unknown, unknown>) => {
          void run(
            call,
            async (ctx, messages) => {
              const req = checkDecoded(call.request);
              messages.received++;
              await pump(fn(req, ctx) as AsyncIterable<unknown>, call, ctx.signal, messages);
            },
            (s) => call.emit("error", toServiceError(s)),
          );
        };
      case "client_streaming":
        return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          let replied = false;
          void run(
            call,
            async (ctx, messages) => {
              const res = await fn(readRequests(call, ctx.signal, idleMs, messages), ctx);
              replied = true;
              callback(null, res);
              messages.sent++;
            },
            (s) => {
              if (!replied) callback(toServiceError(s));
            },
          );
        };
      default:
        return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
          void run(
            call,
            async (ctx, messages) => {
              await pump(
                fn(readRequests(call, ctx.signal, idleMs, messages), ctx) as AsyncIterable<unknown>,
                call,
                ctx.signal,
                messages,
              );
            },
            (s) => call.emit("error", toServiceError(s)),
          );
        };
    }
  }

  const api: RpcServer = {
    add(service, impl) {
      if (listening) throw new Error(`cannot add ${service.typeName} after listen()`);
      const definition = toServiceDefinition(service);
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const m of service.methods) {
        handlers[m.name] = wrap(m, (impl as Record<string, unknown>)[m.localName]);
      }
      server.addService(definition, handlers);
      services.push(service as GenService<GenServiceMethods>);
      setStatus(service.typeName, "SERVING");
      return api;
    },
    setServing(serviceName, serving) {
      setStatus(serviceName, serving ? "SERVING" : "NOT_SERVING");
    },
    async listen(host, port) {
      if (listening) throw new Error("listen() was already called on this server");
      const describe = options.reflection ?? true;
      if (describe) {
        // An internal server says what it is and computes on (GetServiceInfo), listing the services it serves.
        const served = services.map((s) => s.typeName);
        api.add(ServiceInfoService, { getServiceInfo: async () => ({ info: serviceInfo(served) }) });
      }
      listening = true;
      if (describe) addReflection(server, services);
      const creds = options.tls ? await serverCredentials(options.tls) : grpc.ServerCredentials.createInsecure();
      const target = hostPort(host, port);
      const bound = await new Promise<number>((resolve, reject) => {
        server.bindAsync(target, creds, (err, p) => (err ? reject(bindError(target, err)) : resolve(p)));
      });
      logger.info("grpc server listening", {
        address: `${host}:${bound}`,
        services: services.map((s) => s.typeName),
        tls: Boolean(options.tls),
      });
      return bound;
    },
    shutdown(timeoutMs = 10_000) {
      stopping ??= new Promise<void>((resolve) => {
        setStatus("", "NOT_SERVING");
        for (const s of services) setStatus(s.typeName, "NOT_SERVING");
        logger.info("grpc server draining", { inFlight: running.size, timeoutMs });
        const timer = setTimeout(() => {
          logger.warn("grpc server drain timed out; cancelling in-flight calls", { inFlight: running.size });
          for (const c of running) c.abort(new Cancelled("server is shutting down"));
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          logger.info("grpc server stopped");
          resolve();
        });
      });
      return stopping;
    },
    get inFlight() {
      return running.size;
    },
    grpcServer: server,
  };
  return api;
}

function checkDecoded<T>(request: T): T {
  if (isDecodeFailure(request)) throw new InvalidInput(request.message());
  return request;
}

function cancelledStatus(e: unknown): grpc.StatusObject {
  return {
    code: grpc.status.CANCELLED,
    details: e instanceof Error ? e.message : "call cancelled",
    metadata: new grpc.Metadata(),
  };
}

function bindError(target: string, err: Error): Error {
  return new Error(`cannot listen on ${target}: ${err.message} (is the port in use or the host wrong?)`, {
    cause: err,
  });
}

/** Writes an async iterable to a grpc-js writable call, waiting for 'drain' when write() returns false. */
async function pump(
  source: AsyncIterable<unknown>,
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  signal: AbortSignal,
  messages: MessageCounts,
): Promise<void> {
  for await (const msg of source) {
    if (signal.aborted) break;
    messages.sent++;
    if (!call.write(msg)) await waitForDrain(call, signal);
  }
  if (signal.aborted) throw signal.reason ?? new Cancelled("call cancelled");
  call.end();
}

export function waitForDrain(stream: NodeJS.EventEmitter, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.removeListener("drain", done);
      stream.removeListener("close", done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    stream.once("drain", done);
    stream.once("close", done);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The request stream as an async iterable: a message that failed to decode throws InvalidInput, and an aborted
 * call (cancel, deadline) throws Cancelled instead of hanging.
 */
async function* readRequests(
  call: Readable,
  signal: AbortSignal,
  idleMs: number,
  counts: MessageCounts,
): AsyncGenerator<unknown> {
  const messages = readMessages<unknown>(call, signal);
  try {
    while (true) {
      const next = await withIdleLimit(messages.next(), idleMs);
      if (next.done) return;
      counts.received++;
      yield checkDecoded(next.value);
    }
  } finally {
    // Not awaited: after an idle timeout the reader is still parked; the call's end aborts it.
    void messages.return(undefined).catch(() => undefined);
  }
}

/** The next message, or DeadlineExceeded when the client sends nothing for `idleMs` while we wait. */
function withIdleLimit<T>(next: Promise<T>, idleMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DeadlineExceeded(
            `the client sent no stream message for ${idleMs} ms; the stream was ended (send messages without pauses, or end the stream)`,
          ),
        ),
      idleMs,
    );
  });
  return Promise.race([next, idle]).finally(() => clearTimeout(timer));
}

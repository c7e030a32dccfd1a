// Typed clients from protobuf-es service descriptors: default deadlines, retry with backoff on UNAVAILABLE for
// idempotent methods (unary calls, and server streams before their first message), AbortSignal support, backpressure on client streams, errors as RpcError, a CLIENT span per
// call carrying the W3C trace context in the metadata (when tracing is on).
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { deserializerFor, serializerFor } from "./codec.js";
import { clientCredentials, type TlsOptions } from "./credentials.js";
import { methodPath } from "./service-definition.js";
import { RpcError, rpcErrorFromServiceError } from "./status.js";
import { readMessages } from "./stream-reader.js";
import { startClientSpan } from "./tracing.js";

export interface RetryPolicy {
  /** Attempts in total, first included (default 4). */
  maxAttempts?: number;
  /** First backoff in ms (default 50); doubles each attempt, with full jitter. */
  initialBackoffMs?: number;
  /** Backoff cap in ms (default 2000). */
  maxBackoffMs?: number;
  /** Extra methods (local names like "getJob" or proto names like "GetJob") treated as idempotent. */
  idempotentMethods?: string[];
}

export type MetadataInit = Record<string, string> | grpc.Metadata;

export interface ClientOptions {
  tls?: TlsOptions;
  /** Deadline of unary and client-stream calls that give none (default 30 s; 0 = none). Streams from the server
   * and bidi streams get no default deadline (they can run for a training's length). */
  defaultDeadlineMs?: number;
  /** Retry of idempotent calls on UNAVAILABLE; false disables. */
  retry?: RetryPolicy | false;
  /** Metadata sent with every call (e.g. authorization), or a function giving it. */
  metadata?: MetadataInit | (() => MetadataInit);
  /** Largest message accepted or sent (default 8 MiB). */
  maxMessageBytes?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
}

/**
 * Largest metadata value sent. HTTP/2 stacks refuse larger header fields (nghttp2: 64 KiB) by resetting the
 * stream or the whole connection, which the caller would only see as INTERNAL "RST_STREAM"; gRPC servers'
 * default metadata limit is 8-16 KiB.
 */
export const MAX_METADATA_VALUE_BYTES = 16 * 1024;

function checkMetadataSize(md: grpc.Metadata): void {
  for (const [key, values] of Object.entries(md.getMap())) {
    const size = typeof values === "string" ? Buffer.byteLength(values) : values.length;
    if (size <= MAX_METADATA_VALUE_BYTES) continue;
    const code = key === "authorization" ? grpc.status.UNAUTHENTICATED : grpc.status.INVALID_ARGUMENT;
    throw new RpcError(
      code,
      `metadata "${key}" is ${size} bytes, above the ${MAX_METADATA_VALUE_BYTES}-byte limit for one header; check the token or value`,
      "(not sent)",
    );
  }
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Deadline relative to now, in ms (overrides the default; 0 = none). */
  deadlineMs?: number;
  metadata?: MetadataInit;
}

type Req<M extends GenServiceMethods[string]> = MessageInitShape<M["input"]>;
type Res<M extends GenServiceMethods[string]> = MessageShape<M["output"]>;

export type ClientMethod<M extends GenServiceMethods[string]> = M["methodKind"] extends "unary"
  ? (request: Req<M>, options?: CallOptions) => Promise<Res<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: Req<M>, options?: CallOptions) => AsyncIterable<Res<M>>
    : M["methodKind"] extends "client_streaming"
      ? (requests: AsyncIterable<Req<M>> | Iterable<Req<M>>, options?: CallOptions) => Promise<Res<M>>
      : (requests: AsyncIterable<Req<M>> | Iterable<Req<M>>, options?: CallOptions) => AsyncIterable<Res<M>>;

export type Client<S extends GenServiceMethods> = { [K in keyof S]: ClientMethod<S[K]> } & {
  /** Closes the channel. */
  close(): void;
  /** Resolves when the channel is connected, rejects after timeoutMs. */
  waitForReady(timeoutMs: number): Promise<void>;
  readonly grpcClient: grpc.Client;
};

export const DEFAULT_DEADLINE_MS = 30_000;

export function createClient<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
  options: ClientOptions = {},
): Client<S> {
  const maxMessageBytes = options.maxMessageBytes ?? 8 * 1024 * 1024;
  const grpcClient = new grpc.Client(address, clientCredentials(options.tls), {
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
    // Let grpc-js' own retry layer stay out of the way: retries are decided here, per idempotency.
    "grpc.enable_retries": 0,
    // Receive window: grpc-js' 64 KiB default makes a streaming sender wait a round trip every 64 KiB.
    "grpc-node.flow_control_window": 16 * 1024 * 1024,
    ...options.channelOptions,
  });
  const defaultDeadlineMs = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
  const retry = options.retry === false ? undefined : (options.retry ?? {});
  const extraIdempotent = new Set(retry?.idempotentMethods ?? []);

  const metadataFor = (call?: CallOptions): grpc.Metadata => {
    const md = new grpc.Metadata();
    const base = typeof options.metadata === "function" ? options.metadata() : options.metadata;
    for (const src of [base, call?.metadata]) {
      if (!src) continue;
      if (src instanceof grpc.Metadata) md.merge(src);
      else for (const [k, v] of Object.entries(src)) md.set(k, v);
    }
    checkMetadataSize(md);
    return md;
  };
  const deadlineFor = (call: CallOptions | undefined, fallbackMs: number): grpc.Deadline => {
    const ms = call?.deadlineMs ?? fallbackMs;
    return ms > 0 ? Date.now() + ms : Number.POSITIVE_INFINITY;
  };

  const api: Record<string, unknown> = {
    close: () => grpcClient.close(),
    waitForReady: (timeoutMs: number) =>
      new Promise<void>((resolve, reject) =>
        grpcClient.waitForReady(Date.now() + timeoutMs, (err) =>
          err ? reject(new Error(`cannot connect to ${address} within ${timeoutMs} ms: ${err.message}`)) : resolve(),
        ),
      ),
    grpcClient,
  };

  for (const m of service.methods) {
    const path = methodPath(m);
    const ser = serializerFor(m.input);
    const de = deserializerFor(m.output);
    const idempotent =
      m.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN ||
      extraIdempotent.has(m.localName) ||
      extraIdempotent.has(m.name);

    switch (m.methodKind) {
      case "unary":
        api[m.localName] = async (request: unknown, call?: CallOptions) => {
          const span = startClientSpan(path);
          const deadline = deadlineFor(call, defaultDeadlineMs);
          const attempts = idempotent && retry ? (retry.maxAttempts ?? 4) : 1;
          const attemptAll = async () => {
            for (let attempt = 1; ; attempt++) {
              try {
                const md = span.inject(metadataFor(call));
                return await unary(grpcClient, path, ser, de, request, md, deadline, call?.signal);
              } catch (e) {
                const err = e as RpcError;
                if (err.code !== grpc.status.UNAVAILABLE || attempt >= attempts) throw err;
                const backoff = backoffMs(retry ?? {}, attempt);
                if (Date.now() + backoff >= Number(deadline)) throw err;
                await sleep(backoff, call?.signal);
              }
            }
          };
          return span.settle(attemptAll());
        };
        break;
      case "server_streaming":
        api[m.localName] = (request: unknown, call?: CallOptions) => {
          const span = startClientSpan(path);
          const deadline = deadlineFor(call, 0);
          const open = () =>
            grpcClient.makeServerStreamRequest(path, ser, de, request, span.inject(metadataFor(call)), { deadline });
          if (!(idempotent && retry)) return span.wrap(readStream(open(), path, call?.signal));
          return span.wrap(readStreamRetrying(open, path, call?.signal, retry, deadline));
        };
        break;
      case "client_streaming":
        api[m.localName] = (requests: AsyncIterable<unknown> | Iterable<unknown>, call?: CallOptions) => {
          const span = startClientSpan(path);
          const md = metadataFor(call);
          const result = new Promise((resolve, reject) => {
            const stream = grpcClient.makeClientStreamRequest(
              path,
              ser,
              de,
              span.inject(md),
              { deadline: deadlineFor(call, defaultDeadlineMs) },
              (err, res) => (err ? reject(rpcErrorFromServiceError(err, path)) : resolve(res)),
            );
            const cancel = linkAbort(call?.signal, () => stream.cancel());
            writeAll(stream, requests)
              .catch((e) => {
                stream.cancel();
                reject(e);
              })
              .finally(cancel);
          });
          return span.settle(result);
        };
        break;
      default:
        api[m.localName] = (requests: AsyncIterable<unknown> | Iterable<unknown>, call?: CallOptions) => {
          const span = startClientSpan(path);
          const md = metadataFor(call);
          const stream = grpcClient.makeBidiStreamRequest(path, ser, de, span.inject(md), {
            deadline: deadlineFor(call, 0),
          });
          let writeError: unknown;
          writeAll(stream, requests).catch((e) => {
            writeError = e;
            stream.cancel();
          });
          return span.wrap(readStream(stream, path, call?.signal, () => writeError));
        };
    }
  }
  return api as Client<S>;
}

function unary(
  client: grpc.Client,
  path: string,
  ser: (v: unknown) => Buffer,
  de: (b: Buffer) => unknown,
  request: unknown,
  metadata: grpc.Metadata,
  deadline: grpc.Deadline,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RpcError(grpc.status.CANCELLED, "call aborted by the caller before it started", path));
      return;
    }
    const call = client.makeUnaryRequest(path, ser, de, request, metadata, { deadline }, (err, res) => {
      unlink();
      if (err) reject(rpcErrorFromServiceError(err, path));
      else resolve(res);
    });
    const unlink = linkAbort(signal, () => call.cancel());
  });
}

/** A response stream as an async iterable; breaking out of the loop cancels the call. */
async function* readStream(
  stream: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  path: string,
  signal: AbortSignal | undefined,
  writeError?: () => unknown,
): AsyncGenerator<unknown> {
  const unlink = linkAbort(signal, () => stream.cancel());
  // A late error after the consumer stopped must not become an unhandled 'error' event.
  stream.on("error", () => {});
  let finished = false;
  try {
    for await (const msg of readMessages<unknown>(stream)) yield msg;
    finished = true;
  } catch (e) {
    finished = true;
    const we = writeError?.();
    if (we) throw we;
    throw rpcErrorFromServiceError(e, path);
  } finally {
    unlink();
    if (!finished) stream.cancel();
  }
}

/**
 * An idempotent server stream, opened again on UNAVAILABLE while no message has arrived (a connection the server
 * dropped, a refused stream): nothing was delivered, so a new attempt cannot duplicate anything. After the first
 * message an error is the caller's, as a resumed stream could not say where it left off.
 */
async function* readStreamRetrying(
  open: () => grpc.ClientReadableStream<unknown>,
  path: string,
  signal: AbortSignal | undefined,
  policy: RetryPolicy,
  deadline: grpc.Deadline,
): AsyncGenerator<unknown> {
  const attempts = policy.maxAttempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    let received = false;
    try {
      for await (const msg of readStream(open(), path, signal)) {
        received = true;
        yield msg;
      }
      return;
    } catch (e) {
      if (received || (e as RpcError).code !== grpc.status.UNAVAILABLE || attempt >= attempts) throw e;
      const backoff = backoffMs(policy, attempt);
      if (Date.now() + backoff >= Number(deadline)) throw e;
      await sleep(backoff, signal);
    }
  }
}

/** Writes requests to a client stream, waiting for 'drain' when write() returns false, then ends it. */
async function writeAll(
  stream: grpc.ClientWritableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  requests: AsyncIterable<unknown> | Iterable<unknown>,
): Promise<void> {
  for await (const r of requests as AsyncIterable<unknown>) {
    if (stream.destroyed || stream.writableEnded) return;
    if (!stream.write(r)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.removeListener("drain", done);
          stream.removeListener("close", done);
          resolve();
        };
        stream.once("drain", done);
        stream.once("close", done);
      });
    }
  }
  if (!stream.destroyed) stream.end();
}

function linkAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    queueMicrotask(onAbort);
    return () => {};
  }
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

function backoffMs(policy: RetryPolicy, attempt: number): number {
  const base = policy.initialBackoffMs ?? 50;
  const cap = policy.maxBackoffMs ?? 2000;
  return Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new RpcError(grpc.status.CANCELLED, "call aborted by the caller during retry backoff", ""));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

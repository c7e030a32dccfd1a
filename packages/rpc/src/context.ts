import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "@synthmri/platform";

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes, or the server force-stops. */
  readonly signal: AbortSignal;
  /** Request metadata (headers). */
  readonly metadata: grpc.Metadata;
  /** Client address, e.g. "ipv4:127.0.0.1:51234". */
  readonly peer: string;
  /** "/synthmri.common.v1.JobService/GetJob" */
  readonly method: string;
  /** Absolute deadline in ms since the epoch, Infinity when none. */
  readonly deadline: number;
  /** Logger with the method bound. */
  readonly logger: Logger;
  /** Values set by interceptors for the handler (e.g. the authenticated partner under "principal"). */
  readonly state: Record<string, unknown>;
}

/** The grpc_type label of the grpc-ecosystem metrics. */
export type CallType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** What interceptors see of a call. */
export interface CallInfo {
  readonly method: string;
  /** "synthmri.common.v1.JobService" */
  readonly service: string;
  /** Streaming kind of the method (absent only in hand-made CallInfo objects of tests). */
  readonly type?: CallType;
  readonly metadata: grpc.Metadata;
  readonly peer: string;
  /** Interceptors may store values here; the handler reads them from context.state. */
  readonly state: Record<string, unknown>;
}

/** Outcome of a call, given to interceptors' onEnd hooks. */
export interface CallOutcome {
  readonly code: grpc.status;
  readonly durationMs: number;
  /** Error details for a failed call (never payloads). */
  readonly details?: string;
  /** Request messages read (unary: 1) and response messages written, counted at the end of the call. */
  readonly messagesReceived?: number;
  readonly messagesSent?: number;
}

/**
 * A server interceptor. onCall runs before the handler: throwing (e.g. Unauthenticated, PermissionDenied)
 * ends the call with the mapped status and the handler never runs. onEnd runs once per call with its outcome.
 */
export interface ServerInterceptor {
  onCall?(call: CallInfo): void | Promise<void>;
  onEnd?(call: CallInfo, outcome: CallOutcome): void;
}

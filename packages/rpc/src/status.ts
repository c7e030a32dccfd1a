// The ONE place where errors become gRPC statuses (server side) and statuses become errors (client side).
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { boundText, type ErrorKind, isSynthError, SynthError } from "@synthmri/platform";
import type { Logger } from "@synthmri/platform";

/** Trailer keys carrying the error kind and the id of an internal error, so clients can rebuild them. */
export const ERROR_KIND_KEY = "synthmri-error-kind";
export const ERROR_ID_KEY = "synthmri-error-id";

const kindToCode: Record<ErrorKind, grpc.status> = {
  InvalidInput: grpc.status.INVALID_ARGUMENT,
  NotFound: grpc.status.NOT_FOUND,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  ResourceExhausted: grpc.status.RESOURCE_EXHAUSTED,
  Unauthenticated: grpc.status.UNAUTHENTICATED,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  Cancelled: grpc.status.CANCELLED,
  DeadlineExceeded: grpc.status.DEADLINE_EXCEEDED,
  Unavailable: grpc.status.UNAVAILABLE,
};

const codeToKind = new Map<grpc.status, ErrorKind>(
  Object.entries(kindToCode).map(([kind, code]) => [code, kind as ErrorKind]),
);

/** gRPC status code for a SynthError kind. */
export function codeForKind(kind: ErrorKind): grpc.status {
  return kindToCode[kind];
}

/** "NOT_FOUND" for grpc.status.NOT_FOUND. */
export function codeName(code: grpc.status): string {
  return grpc.status[code] ?? `CODE_${code}`;
}

/** An error returned by a remote call: status code, details and trailers. */
export class RpcError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
  /** The SynthError kind the server threw, when it threw one. */
  readonly kind: ErrorKind | undefined;
  /** Id of an INTERNAL error, to look up in the server log. */
  readonly errorId: string | undefined;
  /** Fully qualified method, e.g. "/synthmri.common.v1.JobService/GetJob". */
  readonly method: string;

  constructor(code: grpc.status, details: string, method: string, metadata = new grpc.Metadata()) {
    super(`${codeName(code)}: ${details} (${method})`);
    this.name = "RpcError";
    this.code = code;
    this.details = details;
    this.metadata = metadata;
    this.method = method;
    const kind = metadata.get(ERROR_KIND_KEY)[0];
    this.kind = typeof kind === "string" && kind in kindToCode ? (kind as ErrorKind) : codeToKind.get(code);
    const id = metadata.get(ERROR_ID_KEY)[0];
    this.errorId = typeof id === "string" ? id : undefined;
  }

  /** The matching SynthError (for a service that re-throws a downstream failure in its own domain terms). */
  toSynthError(): SynthError {
    return new SynthError(this.kind ?? "Unavailable", this.details, { cause: this });
  }
}

export function isRpcError(e: unknown): e is RpcError {
  return e instanceof RpcError;
}

/** Converts a grpc-js client error (ServiceError) into an RpcError. */
export function rpcErrorFromServiceError(e: unknown, method: string): RpcError {
  if (e instanceof RpcError) return e;
  const se = e as Partial<grpc.ServiceError>;
  if (se && typeof se.code === "number") {
    return new RpcError(se.code, se.details ?? se.message ?? "", method, se.metadata ?? new grpc.Metadata());
  }
  return new RpcError(grpc.status.UNKNOWN, e instanceof Error ? e.message : String(e), method);
}

/**
 * Maps anything a handler threw to a status. SynthErrors keep their message; an RpcError from a downstream call
 * keeps its code; anything else becomes INTERNAL with a fresh id that is logged with the stack (the client sees
 * only the id, never internals).
 */
export function statusFromError(e: unknown, method: string, logger: Logger): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (isSynthError(e)) {
    metadata.set(ERROR_KIND_KEY, e.kind);
    return { code: kindToCode[e.kind] ?? grpc.status.UNKNOWN, details: boundText(e.message), metadata };
  }
  if (e instanceof RpcError) {
    if (e.kind) metadata.set(ERROR_KIND_KEY, e.kind);
    if (e.errorId) metadata.set(ERROR_ID_KEY, e.errorId);
    return { code: e.code, details: boundText(e.details), metadata };
  }
  const errorId = randomUUID();
  metadata.set(ERROR_ID_KEY, errorId);
  logger.error("internal error in handler", {
    method,
    errorId,
    error: e instanceof Error ? e.message : String(e),
    stack: e instanceof Error ? e.stack : undefined,
  });
  return {
    code: grpc.status.INTERNAL,
    details: `internal error (id ${errorId}); the server log has details`,
    metadata,
  };
}

/** A status as a grpc-js ServiceError (what callbacks and emit('error') take). */
export function toServiceError(s: grpc.StatusObject): grpc.ServiceError {
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: s.metadata });
}

// The messages between runChild (parent) and serveChild (child) over the IPC channel, and how a typed error
// crosses it: only its kind, name, message and stack travel; the parent rebuilds the SynthError subclass of
// that kind so that packages/rpc still maps it to the right gRPC status (it checks instanceof SynthError).
import {
  AlreadyExists,
  DeadlineExceeded,
  Cancelled,
  type ErrorKind,
  FailedPrecondition,
  InvalidInput,
  NotFound,
  PermissionDenied,
  ResourceExhausted,
  SynthError,
  Unauthenticated,
  Unavailable,
} from "@synthmri/core";

export type ParentMessage = { t: "run"; params: unknown };

export interface SerializedError {
  /** Set when the child threw a SynthError. */
  kind?: ErrorKind;
  name: string;
  message: string;
  stack?: string;
}

export type ChildMessage =
  | { t: "progress"; progress: unknown }
  | { t: "result"; result: unknown }
  | { t: "error"; error: SerializedError };

const CLASSES: Record<ErrorKind, new (message: string) => SynthError> = {
  InvalidInput,
  NotFound,
  FailedPrecondition,
  ResourceExhausted,
  Unauthenticated,
  PermissionDenied,
  AlreadyExists,
  Cancelled,
  DeadlineExceeded,
  Unavailable,
};

export function serializeError(e: unknown): SerializedError {
  if (e instanceof SynthError) return { kind: e.kind, name: e.name, message: e.message, stack: e.stack };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "Error", message: String(e) };
}

/** The child's error as the parent throws it: same class for SynthErrors, a plain Error otherwise. */
export function deserializeError(s: SerializedError, where: string): Error {
  const Class = s.kind ? CLASSES[s.kind] : undefined;
  const e = Class ? new Class(s.message) : new Error(s.message);
  if (!Class) e.name = s.name;
  // Keep the child's stack (where it really failed) and say which process it came from.
  if (s.stack) e.stack = `${s.stack}\n    (rethrown from ${where})`;
  return e;
}

export function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === "object" && m !== null && typeof (m as { t?: unknown }).t === "string";
}

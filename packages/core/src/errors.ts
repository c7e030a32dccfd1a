// Typed domain errors. Domain code throws these; packages/rpc maps them to gRPC status codes in one place.
// Messages must name what was wrong and what to do, and never contain voxel data or patient identifiers.
// They are bounded here (boundText), since they often echo a request field that can be megabytes long.
import { boundText } from "./bounded-text.js";

export type ErrorKind =
  | "InvalidInput"
  | "NotFound"
  | "FailedPrecondition"
  | "ResourceExhausted"
  | "Unauthenticated"
  | "PermissionDenied"
  | "AlreadyExists"
  | "Cancelled"
  | "DeadlineExceeded"
  | "Unavailable";

export class SynthError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(boundText(message), options);
    this.kind = kind;
    this.name = kind;
  }
}

export class InvalidInput extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("InvalidInput", message, options);
  }
}
export class NotFound extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("NotFound", message, options);
  }
}
export class FailedPrecondition extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("FailedPrecondition", message, options);
  }
}
export class ResourceExhausted extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ResourceExhausted", message, options);
  }
}
export class Unauthenticated extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("Unauthenticated", message, options);
  }
}
export class PermissionDenied extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("PermissionDenied", message, options);
  }
}
export class AlreadyExists extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("AlreadyExists", message, options);
  }
}
export class Cancelled extends SynthError {
  constructor(message = "operation cancelled", options?: { cause?: unknown }) {
    super("Cancelled", message, options);
  }
}
export class Unavailable extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("Unavailable", message, options);
  }
}

export function isSynthError(e: unknown): e is SynthError {
  return e instanceof SynthError;
}

/** Throws Cancelled when the signal is aborted; call at loop boundaries of long work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Cancelled(typeof signal.reason === "string" ? signal.reason : "operation cancelled");
}

/** A time limit of the server ran out (an idle client stream); the work was stopped. */
export class DeadlineExceeded extends SynthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DeadlineExceeded", message, options);
  }
}

// Long synchronous computations (image-set measures over thousands of slices) written once, as generators that
// yield between small units of work, and run either to completion at once (runSteps) or paced (runStepsPaced).
// Paced is for any process that serves or calls gRPC: its event loop must keep reading the sockets, or an HTTP/2
// keepalive PING waits unanswered past the peer's timeout (20 s in packages/rpc), the peer closes the connection
// and the next stream on it is refused (UNAVAILABLE "Stream refused by server"). Yielding through setImmediate
// lets the poll phase run (sockets read, pings acknowledged) before the work goes on.

/** A computation as a generator: each `yield` ends a unit of work short enough to run without a break. */
export type Steps<T> = Generator<void, T, void>;

/** Longest stretch of work between two yields to the event loop (ms) unless a caller says otherwise. */
export const DEFAULT_PACE_SLICE_MS = 50;

export interface PaceOptions {
  /** Work at most this long (ms) before letting the event loop run (default DEFAULT_PACE_SLICE_MS). */
  sliceMs?: number;
  /** Stops the work at its next yield with the signal's reason. */
  signal?: AbortSignal;
}

/** Runs the steps to the end without yielding (scripts, tests, worker processes). */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Lets timers and I/O run once (a macrotask: a resolved promise would not). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs the steps, yielding to the event loop whenever they have held it for `sliceMs`. Same result as runSteps;
 * an aborted signal stops the work at the next yield and rejects with its reason.
 */
export async function runStepsPaced<T>(steps: Steps<T>, options: PaceOptions = {}): Promise<T> {
  const sliceMs = options.sliceMs ?? DEFAULT_PACE_SLICE_MS;
  let started = performance.now();
  try {
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() - started < sliceMs) continue;
      await yieldToEventLoop();
      options.signal?.throwIfAborted();
      started = performance.now();
    }
  } finally {
    // An abort (or a throw) ends the generator too, so its finally blocks run.
    steps.return(undefined as never);
  }
}

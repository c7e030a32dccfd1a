// Reads a grpc-js object stream as an async iterable WITHOUT Node's Readable async iterator: that iterator
// destroys the whole Duplex when the readable side ends, which silently drops responses still being written
// on a bidi call after the peer half-closed. Backpressure: pause the stream while `highWater` messages wait.
import type { Readable } from "node:stream";

export async function* readMessages<T>(stream: Readable, signal?: AbortSignal, highWater = 8): AsyncGenerator<T> {
  const queue: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (m: T) => {
    queue.push(m);
    if (queue.length >= highWater) stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  const onAbort = () => onError(signal?.reason);
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("error", onError);
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();
  try {
    while (true) {
      if (queue.length > 0) {
        const m = queue.shift() as T;
        if (queue.length < highWater / 2 && stream.isPaused()) stream.resume();
        yield m;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.removeListener("data", onData);
    stream.removeListener("end", onEnd);
    stream.removeListener("error", onError);
    signal?.removeEventListener("abort", onAbort);
  }
}

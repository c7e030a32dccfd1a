// Counting semaphores: an ensemble's `concurrency` and the process-wide limit on GAN work (config.jobConcurrency)
// are separate from the job runner's queue, so a parent job that waits on its members never starves them.
import { throwIfAborted } from "@synthmri/platform";

export class Semaphore {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Resolves with a release function once a slot is free; rejects when the signal aborts first. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal);
    if (this.used < this.limit) this.used++;
    else {
      // The releasing holder hands its slot over (used stays the same), so no newcomer can jump the queue.
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal?.reason ?? new Error("aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiters.push(wake);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.used--;
    };
  }
}

/** One semaphore per key (e.g. per ensemble), created with the limit given the first time. */
export class KeyedSemaphores {
  private readonly map = new Map<string, Semaphore>();

  get(key: string, limit: number): Semaphore {
    let s = this.map.get(key);
    if (!s) {
      s = new Semaphore(Math.max(1, limit));
      this.map.set(key, s);
    }
    return s;
  }
}

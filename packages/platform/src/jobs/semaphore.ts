// A counting semaphore for work limits that sit beside the job runner's queue (training slots: a parent job
// that waits on its children never starves them). FIFO: a released slot goes to the longest waiter.
import { throwIfAborted } from "@synthmri/core";

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

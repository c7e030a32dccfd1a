// Per-ensemble counting semaphores (an ensemble's `concurrency`). With the process-wide limits on GAN work
// (config.jobConcurrency, TRAIN_PROCESSES: a plain Semaphore of @synthmri/platform) they sit beside the job
// runner's queue, so a parent job that waits on its members never starves them.
import { Semaphore } from "@synthmri/platform";

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

// Counting semaphores: an ensemble's `concurrency` and the process-wide limit on GAN work (config.jobConcurrency,
// or TRAIN_PROCESSES for training children) are separate from the job runner's queue, so a parent job that
// waits on its members never starves them. Semaphore lives in @synthmri/platform (the segmenter uses it too).
import { Semaphore } from "@synthmri/platform";

export { Semaphore };

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

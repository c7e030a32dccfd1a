// Writes job statuses to the object store: immediately on a state change, at most once per interval for
// progress, one write in flight per job, and the newest snapshot always written last. A write that fails (the
// store is down) is retried with backoff until it lands: a FAILED status lost during an outage would leave the
// stored job RUNNING, and the next process would run it again as an interrupted job.
import { InvalidInput } from "@synthmri/core";
import type { Logger } from "@synthmri/core";
import type { ObjectStore } from "../store/object-store.js";
import type { JobStatus } from "./job-types.js";

interface Slot {
  latest: JobStatus;
  writing: Promise<void> | undefined;
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
  lastWriteAt: number;
  /** Delay before the next retry of a failed write; 0 after a success. */
  retryMs: number;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 15_000;

export function checkJobId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id))
    throw new InvalidInput(`job id "${id.slice(0, 140)}" is malformed`);
}

export class JobPersistence {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly store: ObjectStore,
    private readonly service: string,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  get prefix(): string {
    return `jobs/${this.service}/`;
  }

  keyOf(id: string): string {
    return `${this.prefix}${id}.json`;
  }

  /** Records the newest snapshot; writes now (urgent) or within intervalMs. */
  save(status: JobStatus, urgent: boolean): void {
    let slot = this.slots.get(status.id);
    if (!slot) {
      slot = {
        latest: status,
        writing: undefined,
        dirty: false,
        timer: undefined,
        lastWriteAt: -Infinity,
        retryMs: 0,
      };
      this.slots.set(status.id, slot);
    }
    slot.latest = status;
    // While retrying a failed write the retry timer carries the newest snapshot.
    if (slot.retryMs > 0 && slot.timer) return;
    const wait = this.intervalMs - (this.now() - slot.lastWriteAt);
    if (urgent || wait <= 0) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      this.write(slot);
    } else if (!slot.timer) {
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        this.write(slot);
      }, wait);
      slot.timer.unref();
    }
  }

  private write(slot: Slot): void {
    if (slot.writing) {
      slot.dirty = true;
      return;
    }
    slot.dirty = false;
    slot.lastWriteAt = this.now();
    const status = slot.latest;
    slot.writing = this.store
      .putObject(this.keyOf(status.id), JSON.stringify(status), { contentType: "application/json" })
      .then(
        () => {
          slot.retryMs = 0;
        },
        (err) => {
          slot.retryMs = Math.min(MAX_RETRY_MS, slot.retryMs > 0 ? slot.retryMs * 2 : FIRST_RETRY_MS);
          this.logger.warn("job status not persisted; retrying", {
            jobId: status.id,
            retryInMs: slot.retryMs,
            err,
          });
          slot.dirty = false;
          if (slot.timer) clearTimeout(slot.timer);
          slot.timer = setTimeout(() => {
            slot.timer = undefined;
            this.write(slot);
          }, slot.retryMs);
          slot.timer.unref();
        },
      )
      .finally(() => {
        slot.writing = undefined;
        if (slot.dirty) this.write(slot);
        else if (!slot.timer && isDone(slot.latest)) this.slots.delete(status.id);
      });
  }

  /**
   * Resolves when every pending snapshot (throttled ones included) has been written or has failed once more
   * (a store that is down must not hold a shutdown; failed ones keep retrying in the background).
   */
  async flush(): Promise<void> {
    const forced = new Set<Slot>();
    for (;;) {
      const busy = [...this.slots.values()].filter((s) => s.writing || s.dirty || (s.timer && !forced.has(s)));
      if (busy.length === 0) return;
      for (const s of busy) {
        if (s.timer && !s.writing && !forced.has(s)) {
          forced.add(s);
          clearTimeout(s.timer);
          s.timer = undefined;
          this.write(s);
        }
      }
      await Promise.all(busy.map((s) => s.writing));
    }
  }

  async load(id: string): Promise<JobStatus | undefined> {
    checkJobId(id);
    try {
      return JSON.parse((await this.store.getBuffer(this.keyOf(id))).toString("utf8")) as JobStatus;
    } catch (err) {
      if ((err as { kind?: string }).kind === "NotFound") return undefined;
      throw err;
    }
  }

  async *loadAll(): AsyncIterable<JobStatus> {
    for await (const o of this.store.listObjects(this.prefix)) {
      if (!o.key.endsWith(".json")) continue;
      try {
        yield JSON.parse((await this.store.getBuffer(o.key)).toString("utf8")) as JobStatus;
      } catch (err) {
        this.logger.warn("unreadable job status skipped", { key: o.key, err });
      }
    }
  }
}

function isDone(s: JobStatus): boolean {
  return s.state === "SUCCEEDED" || s.state === "FAILED" || s.state === "CANCELLED";
}

// The experiment's stage cache. A stage's key is artifactIdFor("experiment-stage", { stage, material }) where
// material is everything the stage's output depends on (input artifact ids, parameters, seeds), so a finished
// stage with the same inputs is skipped, and changing one parameter redoes only the stages downstream of it.
// While a stage's job runs, a "pending" record keeps its job id, so an interrupted experiment re-attaches to
// the job (or, if the job is gone, resubmits) instead of starting over.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ArtifactStore, artifactIdFor } from "@synthmri/platform";

export interface StageRecord {
  stage: string;
  key: string;
  result: Record<string, unknown>;
  finishedAt: string;
}

export interface PendingRecord {
  stage: string;
  key: string;
  service: string;
  jobId: string;
  /** What the submit RPC answered (ids the job will produce). */
  submitted: Record<string, unknown>;
  startedAt: string;
}

/** Where stage records live: the object store (shared by every run on this store) or a local directory. */
export interface StageStore {
  getDone(key: string): Promise<StageRecord | undefined>;
  putDone(record: StageRecord): Promise<void>;
  deleteDone(key: string): Promise<void>;
  getPending(key: string): Promise<PendingRecord | undefined>;
  putPending(record: PendingRecord): Promise<void>;
  clearPending(key: string): Promise<void>;
}

export const STAGE_KIND = "experiment-stage";

export function stageKey(stage: string, material: unknown): string {
  return artifactIdFor(STAGE_KIND, { stage, material });
}

/** Stage records as artifacts (kind experiment-stage; the result in the manifest), pending ones as plain objects. */
export class ArtifactStageStore implements StageStore {
  constructor(private readonly artifacts: ArtifactStore) {}

  async getDone(key: string): Promise<StageRecord | undefined> {
    const m = await this.artifacts.tryGetManifest<{ stageRecord: StageRecord }>(STAGE_KIND, key);
    return m?.stageRecord;
  }

  async putDone(record: StageRecord): Promise<void> {
    const w = await this.artifacts.beginArtifact(STAGE_KIND, record.key);
    await w.commit({ params: { stage: record.stage }, extra: { stageRecord: record } });
  }

  async deleteDone(key: string): Promise<void> {
    if (await this.artifacts.tryGetManifest(STAGE_KIND, key)) await this.artifacts.deleteArtifact(STAGE_KIND, key);
  }

  private pendingKey(key: string): string {
    return `experiment-pending/${key}.json`;
  }

  async getPending(key: string): Promise<PendingRecord | undefined> {
    try {
      return JSON.parse((await this.artifacts.objects.getBuffer(this.pendingKey(key))).toString("utf8"));
    } catch (err) {
      if ((err as { kind?: string }).kind === "NotFound") return undefined;
      throw err;
    }
  }

  async putPending(record: PendingRecord): Promise<void> {
    await this.artifacts.objects.putObject(this.pendingKey(record.key), JSON.stringify(record), {
      contentType: "application/json",
    });
  }

  async clearPending(key: string): Promise<void> {
    try {
      await this.artifacts.objects.deleteObject(this.pendingKey(key));
    } catch (err) {
      if ((err as { kind?: string }).kind !== "NotFound") throw err;
    }
  }
}

/** Stage records as JSON files under a directory (when the CLI cannot reach the object store). */
export class FileStageStore implements StageStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private read<T>(file: string): T | undefined {
    const p = join(this.dir, file);
    if (!existsSync(p)) return undefined;
    return JSON.parse(readFileSync(p, "utf8")) as T;
  }

  private write(file: string, value: unknown): void {
    // Write then rename: a crash never leaves a half-written record that parses as garbage.
    const p = join(this.dir, file);
    writeFileSync(`${p}.tmp`, JSON.stringify(value, null, 2));
    renameSync(`${p}.tmp`, p);
  }

  async getDone(key: string) {
    return this.read<StageRecord>(`${key}.done.json`);
  }
  async putDone(record: StageRecord) {
    this.write(`${record.key}.done.json`, record);
  }
  async deleteDone(key: string) {
    rmSync(join(this.dir, `${key}.done.json`), { force: true });
  }
  async getPending(key: string) {
    return this.read<PendingRecord>(`${key}.pending.json`);
  }
  async putPending(record: PendingRecord) {
    this.write(`${record.key}.pending.json`, record);
  }
  async clearPending(key: string) {
    rmSync(join(this.dir, `${key}.pending.json`), { force: true });
  }
}

export interface StageContext {
  key: string;
  /** Records the job a stage has submitted, so an interrupted run can re-attach to it. */
  markPending(service: string, jobId: string, submitted: Record<string, unknown>): Promise<void>;
}

export interface StageOptions<T> {
  /** Whether a cached result is still usable (e.g. its dataset still exists); false redoes the stage. */
  verify?: (result: T) => Promise<boolean>;
  /** Re-attach to the job of an interrupted run; undefined = the job is gone, produce again. */
  resume?: (pending: PendingRecord) => Promise<T | undefined>;
}

export interface StageOutcome<T> {
  result: T;
  key: string;
  /** "cached": the finished stage was reused; "resumed": an interrupted job was re-attached; "ran": produced now. */
  how: "cached" | "resumed" | "ran";
}

export class StageCache {
  constructor(
    private readonly store: StageStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  key(stage: string, material: unknown): string {
    return stageKey(stage, material);
  }

  async run<T extends Record<string, unknown>>(
    stage: string,
    material: unknown,
    produce: (ctx: StageContext) => Promise<T>,
    options: StageOptions<T> = {},
  ): Promise<StageOutcome<T>> {
    const key = stageKey(stage, material);
    const done = await this.store.getDone(key);
    if (done) {
      const ok = options.verify ? await options.verify(done.result as T) : true;
      if (ok) return { result: done.result as T, key, how: "cached" };
      await this.store.deleteDone(key);
    }
    let result: T | undefined;
    let how: StageOutcome<T>["how"] = "ran";
    const pending = await this.store.getPending(key);
    if (pending && options.resume) {
      result = await options.resume(pending);
      if (result !== undefined) how = "resumed";
    }
    if (result === undefined) {
      result = await produce({
        key,
        markPending: (service, jobId, submitted) =>
          this.store.putPending({ stage, key, service, jobId, submitted, startedAt: this.now().toISOString() }),
      });
    }
    await this.store.putDone({ stage, key, result, finishedAt: this.now().toISOString() });
    await this.store.clearPending(key);
    return { result, key, how };
  }
}

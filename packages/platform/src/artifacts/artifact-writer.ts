// Writes one artifact's files under <kind>/<id>/, hashing while streaming, and commits by writing the
// manifest last. Until commit the artifact does not exist for readers; abort() removes what was written.
import { createHash, type Hash } from "node:crypto";
import { FailedPrecondition, InvalidInput } from "@synthmri/core";
import type { ObjectStore, PutBody, PutOptions } from "../store/object-store.js";
import {
  checkExtraFields,
  checkFilePath,
  type FileChecksum,
  MANIFEST_FILE,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  type ObjectRef,
  type Provenance,
} from "./manifest.js";

export interface CommitOptions<E extends object = Record<string, unknown>> {
  inputs?: ObjectRef[];
  params?: Record<string, unknown>;
  provenance?: Provenance;
  /** Kind-specific top-level manifest fields. */
  extra?: E;
}

export interface CommitResult<E extends object = Record<string, unknown>> {
  manifest: Manifest<E>;
  /** Points at manifest.json: what the next stage lists as its input. */
  ref: ObjectRef;
}

export class ArtifactWriter {
  private readonly checksums = new Map<string, FileChecksum>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly paths = new Set<string>();
  private state: "open" | "committed" | "aborted" = "open";

  constructor(
    private readonly store: ObjectStore,
    readonly kind: string,
    readonly id: string,
    private readonly defaults: { provenance: Provenance; now: () => Date; onCommit?: (m: Manifest) => void },
  ) {}

  /** "<kind>/<id>/" */
  get prefix(): string {
    return `${this.kind}/${this.id}/`;
  }

  /** Streams one file into the artifact; returns its ObjectRef (sha256 and size computed on the way). */
  putFile(path: string, body: PutBody, options?: PutOptions): Promise<ObjectRef> {
    // Validation failures come back as rejections, like upload failures, so callers handle one path.
    try {
      this.checkOpen("putFile");
      checkFilePath(path);
      if (this.paths.has(path)) throw new InvalidInput(`${this.kind} "${this.id}": file "${path}" written twice`);
    } catch (err) {
      return Promise.reject(err);
    }
    this.paths.add(path);
    const p = this.write(path, body, options);
    this.pending.add(p);
    p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  putJson(path: string, value: unknown): Promise<ObjectRef> {
    return this.putFile(path, `${JSON.stringify(value, null, 1)}\n`, { contentType: "application/json" });
  }

  /** Files written so far (path -> checksum). */
  files(): ReadonlyMap<string, FileChecksum> {
    return this.checksums;
  }

  private async write(path: string, body: PutBody, options?: PutOptions): Promise<ObjectRef> {
    const key = this.prefix + path;
    const hash = createHash("sha256");
    let size: number;
    if (typeof body === "string" || body instanceof Uint8Array) {
      const buf = typeof body === "string" ? Buffer.from(body) : body;
      hash.update(buf);
      size = buf.byteLength;
      await this.store.putObject(key, buf, options);
    } else {
      const counter = { size: 0 };
      await this.store.putObject(key, tap(body, hash, counter), options);
      size = counter.size;
    }
    const checksum = { sha256: hash.digest("hex"), size };
    this.checksums.set(path, checksum);
    return { bucket: this.store.bucket, key, ...checksum };
  }

  /** Writes manifest.json LAST (after every pending file); from then on the artifact exists. */
  async commit<E extends object = Record<string, unknown>>(options: CommitOptions<E> = {}): Promise<CommitResult<E>> {
    this.checkOpen("commit");
    const extra = (options.extra ?? {}) as E;
    checkExtraFields(extra as Record<string, unknown>);
    const results = await Promise.allSettled([...this.pending]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      throw new FailedPrecondition(
        `${this.kind} "${this.id}": a file failed to upload, so it cannot be committed; abort() and retry`,
        { cause: failed.reason },
      );
    }
    const checksums: Record<string, FileChecksum> = {};
    for (const path of [...this.checksums.keys()].sort()) checksums[path] = this.checksums.get(path)!;
    const manifest = {
      ...extra,
      kind: this.kind,
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      id: this.id,
      createdAt: this.defaults.now().toISOString(),
      inputs: options.inputs ?? [],
      params: options.params ?? {},
      provenance: { ...this.defaults.provenance, ...options.provenance },
      checksums,
    } as Manifest<E>;
    const bytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
    const key = this.prefix + MANIFEST_FILE;
    await this.store.putObject(key, bytes, { contentType: "application/json" });
    this.state = "committed";
    this.defaults.onCommit?.(manifest as Manifest);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    return { manifest, ref: { bucket: this.store.bucket, key, sha256, size: bytes.length } };
  }

  /** Deletes everything written under this artifact's prefix. Safe to call after a failed commit. */
  async abort(): Promise<void> {
    if (this.state === "committed") {
      throw new FailedPrecondition(`${this.kind} "${this.id}" is already committed; use deleteArtifact to remove it`);
    }
    this.state = "aborted";
    await Promise.allSettled([...this.pending]);
    await this.store.deletePrefix(this.prefix);
  }

  private checkOpen(op: string): void {
    if (this.state !== "open") throw new FailedPrecondition(`${this.kind} "${this.id}": ${op} after ${this.state}`);
  }
}

async function* tap(source: AsyncIterable<Uint8Array | string>, hash: Hash, counter: { size: number }) {
  for await (const c of source) {
    const b = typeof c === "string" ? Buffer.from(c) : c;
    hash.update(b);
    counter.size += b.byteLength;
    yield b;
  }
}

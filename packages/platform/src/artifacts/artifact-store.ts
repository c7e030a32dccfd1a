// Artifacts on top of an ObjectStore: "<kind>/<id>/..." with manifest.json written last. An artifact without
// a manifest does not exist: getManifest, listArtifacts and readFile all ignore half-written ones, and
// sweepOrphans removes their files once they are old enough not to be a write in progress.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { AlreadyExists, FailedPrecondition, NotFound } from "@synthmri/core";
import type { Logger } from "@synthmri/core";
import { silentLogger } from "../log/logger.js";
import type { ObjectStore } from "../store/object-store.js";
import { ArtifactWriter, type CommitOptions, type CommitResult } from "./artifact-writer.js";
import {
  type ArtifactKind,
  checkFilePath,
  checkId,
  checkKind,
  KNOWN_ARTIFACT_KINDS,
  MANIFEST_FILE,
  type Manifest,
  newArtifactId,
  type ObjectRef,
  parseManifest,
  type Provenance,
} from "./manifest.js";
import { artifactIdFor } from "./stable-hash.js";

export interface ArtifactInfo {
  kind: string;
  id: string;
  /** When the manifest was written (the object store's timestamp). */
  committedAt: Date;
}

export interface OrphanSwept {
  kind: string;
  id: string;
  files: number;
}

export interface ArtifactStoreOptions {
  store: ObjectStore;
  logger?: Logger;
  /** Merged into every manifest's provenance (e.g. { service: "ingest", version }). */
  provenance?: Provenance;
  now?: () => Date;
}

const CACHE_LIMIT = 256;

export class ArtifactStore {
  readonly objects: ObjectStore;
  private readonly logger: Logger;
  private readonly provenance: Provenance;
  private readonly now: () => Date;
  // Committed manifests are immutable, so caching them is safe; deleteArtifact evicts.
  private readonly cache = new Map<string, Manifest>();
  private readonly producing = new Map<string, Promise<Manifest>>();

  constructor(options: ArtifactStoreOptions) {
    this.objects = options.store;
    this.logger = options.logger ?? silentLogger;
    this.provenance = options.provenance ?? {};
    this.now = options.now ?? (() => new Date());
  }

  static manifestKey(kind: string, id: string): string {
    return `${kind}/${id}/${MANIFEST_FILE}`;
  }

  /** Starts a new artifact. Throws AlreadyExists when `id` is already committed (artifacts are immutable). */
  async beginArtifact(kind: ArtifactKind, id?: string): Promise<ArtifactWriter> {
    checkKind(kind);
    const artifactId = id ?? newArtifactId(this.now());
    checkId(artifactId);
    if (await this.objects.exists(ArtifactStore.manifestKey(kind, artifactId))) {
      throw new AlreadyExists(`${kind} "${artifactId}" already exists; artifacts are immutable, use a new id`);
    }
    return new ArtifactWriter(this.objects, kind, artifactId, {
      provenance: this.provenance,
      now: this.now,
      onCommit: (m) => this.remember(m),
    });
  }

  async getManifest<E extends object = Record<string, unknown>>(kind: ArtifactKind, id: string): Promise<Manifest<E>> {
    const found = await this.tryGetManifest<E>(kind, id);
    if (!found) throw new NotFound(`${kind} "${id}" not found (no committed manifest)`);
    return found;
  }

  /** The manifest, or undefined when the artifact does not exist (the cache check of a stage). */
  async tryGetManifest<E extends object = Record<string, unknown>>(
    kind: ArtifactKind,
    id: string,
  ): Promise<Manifest<E> | undefined> {
    checkKind(kind);
    checkId(id);
    const cached = this.cache.get(`${kind}/${id}`);
    if (cached) return cached as Manifest<E>;
    let bytes: Buffer;
    try {
      bytes = await this.objects.getBuffer(ArtifactStore.manifestKey(kind, id));
    } catch (err) {
      if ((err as { kind?: string }).kind === "NotFound") return undefined;
      throw err;
    }
    const manifest = parseManifest(bytes, kind, id);
    this.remember(manifest);
    return manifest as Manifest<E>;
  }

  /** ObjectRef of an artifact's manifest.json: the input reference the next stage records. */
  async manifestRef(kind: ArtifactKind, id: string): Promise<ObjectRef> {
    checkKind(kind);
    checkId(id);
    const key = ArtifactStore.manifestKey(kind, id);
    let bytes: Buffer;
    try {
      bytes = await this.objects.getBuffer(key);
    } catch (err) {
      if ((err as { kind?: string }).kind === "NotFound")
        throw new NotFound(`${kind} "${id}" not found (no committed manifest)`);
      throw err;
    }
    return {
      bucket: this.objects.bucket,
      key,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length,
    };
  }

  /** Committed artifacts of a kind (those with a manifest), oldest first. */
  async listArtifacts(kind: ArtifactKind): Promise<ArtifactInfo[]> {
    checkKind(kind);
    const out: ArtifactInfo[] = [];
    for await (const prefix of this.objects.listPrefixes(`${kind}/`)) {
      const id = prefix.slice(kind.length + 1, -1);
      try {
        const stat = await this.objects.statObject(`${prefix}${MANIFEST_FILE}`);
        out.push({ kind, id, committedAt: stat.lastModified });
      } catch (err) {
        if ((err as { kind?: string }).kind !== "NotFound") throw err;
      }
    }
    return out.sort((a, b) => a.committedAt.getTime() - b.committedAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  /** Removes the manifest first (the artifact stops existing at once), then its files. */
  async deleteArtifact(kind: ArtifactKind, id: string): Promise<void> {
    checkKind(kind);
    checkId(id);
    const key = ArtifactStore.manifestKey(kind, id);
    if (!(await this.objects.exists(key))) throw new NotFound(`${kind} "${id}" not found (no committed manifest)`);
    this.cache.delete(`${kind}/${id}`);
    await this.objects.deleteObject(key);
    const files = await this.objects.deletePrefix(`${kind}/${id}/`);
    this.logger.info("artifact deleted", { kind, id, files });
  }

  /** ObjectRef of one file of a committed artifact. */
  async fileRef(kind: ArtifactKind, id: string, path: string): Promise<ObjectRef> {
    checkFilePath(path);
    const manifest = await this.getManifest(kind, id);
    const sum = manifest.checksums[path];
    if (!sum) throw new NotFound(`${kind} "${id}" has no file "${path}"`);
    return { bucket: this.objects.bucket, key: `${kind}/${id}/${path}`, ...sum };
  }

  /** Reads one file of a committed artifact, verifying its sha256 against the manifest. */
  async readFile(kind: ArtifactKind, id: string, path: string): Promise<Buffer> {
    const ref = await this.fileRef(kind, id, path);
    const bytes = await this.objects.getBuffer(ref.key);
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== ref.sha256 || bytes.length !== ref.size) {
      throw new FailedPrecondition(
        `${kind} "${id}" file "${path}" does not match its manifest checksum (corrupt or overwritten); re-create the artifact`,
      );
    }
    return bytes;
  }

  /** Streams one file of a committed artifact (not verified: for large files read once). */
  async openFile(kind: ArtifactKind, id: string, path: string): Promise<Readable> {
    const ref = await this.fileRef(kind, id, path);
    return this.objects.getObject(ref.key);
  }

  async readJson<T = unknown>(kind: ArtifactKind, id: string, path: string): Promise<T> {
    return JSON.parse((await this.readFile(kind, id, path)).toString("utf8")) as T;
  }

  /**
   * The content-addressed cache: id = artifactIdFor(kind, material). Returns the existing artifact when it
   * is already committed (cached: true); otherwise runs produce(writer), commits what it returns, and aborts
   * the partial artifact if produce throws.
   */
  async ensureArtifact<E extends object = Record<string, unknown>>(
    kind: ArtifactKind,
    material: unknown,
    produce: (writer: ArtifactWriter) => Promise<CommitOptions<E>>,
  ): Promise<{ manifest: Manifest<E>; cached: boolean }> {
    const id = artifactIdFor(kind, material);
    const existing = await this.tryGetManifest<E>(kind, id);
    if (existing) return { manifest: existing, cached: true };
    // Two callers in this process asking for the same artifact share one production.
    const key = `${kind}/${id}`;
    const inFlight = this.producing.get(key);
    if (inFlight) {
      const m = (await inFlight) as Manifest<E>;
      return { manifest: m, cached: true };
    }
    const production = (async () => {
      // Files a crashed earlier attempt left are overwritten path by path (not deleted first, which could
      // remove the files of another process producing the same artifact).
      const writer = await this.beginArtifact(kind, id);
      let result: CommitResult<E>;
      try {
        result = await writer.commit(await produce(writer));
      } catch (err) {
        await writer.abort().catch(() => undefined);
        throw err;
      }
      return result.manifest;
    })();
    this.producing.set(key, production as Promise<Manifest>);
    try {
      return { manifest: await production, cached: false };
    } finally {
      this.producing.delete(key);
    }
  }

  /**
   * Deletes files of artifacts that never got a manifest and whose newest file is older than
   * olderThanMinutes (younger ones may still be being written).
   */
  async sweepOrphans(options: { olderThanMinutes: number; kinds?: readonly string[] }): Promise<OrphanSwept[]> {
    const cutoff = this.now().getTime() - options.olderThanMinutes * 60_000;
    const swept: OrphanSwept[] = [];
    for (const kind of options.kinds ?? KNOWN_ARTIFACT_KINDS) {
      checkKind(kind);
      for await (const prefix of this.objects.listPrefixes(`${kind}/`)) {
        if (await this.objects.exists(`${prefix}${MANIFEST_FILE}`)) continue;
        let newest = 0;
        for await (const o of this.objects.listObjects(prefix)) newest = Math.max(newest, o.lastModified.getTime());
        if (newest >= cutoff) continue;
        const files = await this.objects.deletePrefix(prefix);
        const id = prefix.slice(kind.length + 1, -1);
        swept.push({ kind, id, files });
        this.logger.info("orphan artifact files swept", { kind, id, files });
      }
    }
    return swept;
  }

  private remember(m: Manifest): void {
    const k = `${m.kind}/${m.id}`;
    this.cache.delete(k);
    this.cache.set(k, m);
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
  }
}

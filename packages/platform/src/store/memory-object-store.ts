// An in-memory ObjectStore with the same semantics as MinioObjectStore (NotFound naming the key, sorted
// recursive listing, prefixes), for fast unit tests of domain code. Not for production: nothing persists.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { FailedPrecondition, InvalidInput, NotFound } from "@synthmri/core";
import { toAsyncIterable } from "./chunk.js";
import { checkKey } from "./check-key.js";
import type { ObjectInfo, ObjectStat, ObjectStore, PutBody, PutOptions, PutResult } from "./object-store.js";

interface Entry {
  data: Buffer;
  etag: string;
  lastModified: Date;
  contentType?: string;
  metadata: Record<string, string>;
}

export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Entry>();
  private bucketExists = false;

  constructor(
    readonly bucket = "memory",
    private readonly now: () => Date = () => new Date(),
  ) {}

  async ensureBucket(): Promise<void> {
    this.bucketExists = true;
  }

  private checkBucket(): void {
    if (!this.bucketExists) throw new NotFound(`bucket "${this.bucket}" does not exist; call ensureBucket() first`);
  }

  async putObject(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    this.checkBucket();
    const chunks: Buffer[] = [];
    for await (const c of toAsyncIterable(body)) chunks.push(Buffer.from(c));
    const data = Buffer.concat(chunks);
    const etag = createHash("md5").update(data).digest("hex");
    const metadata = Object.fromEntries(Object.entries(options.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    this.objects.set(key, { data, etag, lastModified: this.now(), contentType: options.contentType, metadata });
    return { key, etag, size: data.length, parts: 1 };
  }

  private entry(key: string): Entry {
    checkKey(key);
    this.checkBucket();
    const e = this.objects.get(key);
    if (!e) throw new NotFound(`object "${key}" in bucket "${this.bucket}" not found`);
    return e;
  }

  async getObject(key: string): Promise<Readable> {
    return Readable.from([this.entry(key).data]);
  }

  async getBuffer(key: string): Promise<Buffer> {
    return Buffer.from(this.entry(key).data);
  }

  async statObject(key: string): Promise<ObjectStat> {
    const e = this.entry(key);
    return {
      key,
      size: e.data.length,
      etag: e.etag,
      lastModified: e.lastModified,
      contentType: e.contentType,
      metadata: { ...e.metadata },
    };
  }

  async exists(key: string): Promise<boolean> {
    checkKey(key);
    return this.objects.has(key);
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    this.checkBucket();
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const e = this.objects.get(key);
      if (e) yield { key, size: e.data.length, etag: e.etag, lastModified: e.lastModified };
    }
  }

  async *listPrefixes(prefix: string): AsyncIterable<string> {
    this.checkBucket();
    const found = new Set<string>();
    for (const k of this.objects.keys()) {
      if (!k.startsWith(prefix)) continue;
      const slash = k.indexOf("/", prefix.length);
      if (slash >= 0) found.add(k.slice(0, slash + 1));
    }
    yield* [...found].sort();
  }

  async deleteObject(key: string): Promise<void> {
    checkKey(key);
    this.objects.delete(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix) throw new InvalidInput("deletePrefix needs a non-empty prefix (refusing to empty the whole bucket)");
    let n = 0;
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix) && this.objects.delete(k)) n++;
    return n;
  }

  async presignedGetUrl(key: string): Promise<string> {
    this.entry(key);
    throw new FailedPrecondition("the in-memory object store cannot serve URLs; use the embedded S3 store");
  }
}

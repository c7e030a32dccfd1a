// ObjectStore on the minio client: any S3 (MinIO in a cluster, the embedded s3rver on one machine).
import type { Readable } from "node:stream";
import { Client } from "minio";
import { InvalidInput } from "@synthmri/core";
import { chunked, toAsyncIterable } from "./chunk.js";
import { checkKey } from "./check-key.js";
import type { ObjectInfo, ObjectStat, ObjectStore, PutBody, PutOptions, PutResult } from "./object-store.js";
import { translateStoreError } from "./translate-error.js";

export interface MinioStoreOptions {
  /** "http://host:port" or "https://host:port". */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
  /** Multipart part size in bytes (>= 5 MiB, the S3 minimum); default 8 MiB. */
  partSize?: number;
}

const MiB = 1024 * 1024;

export class MinioObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly endpoint: string;
  private readonly client: Client;
  private readonly region: string;
  private readonly partSize: number;

  constructor(options: MinioStoreOptions) {
    const url = new URL(options.endpoint);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new InvalidInput(`object store endpoint "${options.endpoint}" must start with http:// or https://`);
    }
    const useSSL = url.protocol === "https:";
    this.partSize = options.partSize ?? 8 * MiB;
    if (this.partSize < 5 * MiB) throw new InvalidInput(`partSize ${this.partSize} is below the S3 minimum of 5 MiB`);
    this.bucket = options.bucket;
    this.region = options.region ?? "us-east-1";
    this.endpoint = `${url.protocol}//${url.host}`;
    this.client = new Client({
      endPoint: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: this.region,
      pathStyle: true,
      partSize: this.partSize,
    });
  }

  private fail(err: unknown, key?: string): Error {
    return translateStoreError(err, { bucket: this.bucket, key, endpoint: this.endpoint });
  }

  async ensureBucket(): Promise<void> {
    try {
      if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      // Two services starting together may race to create it.
      const code = (err as { code?: string }).code;
      if (code === "BucketAlreadyOwnedByYou" || code === "BucketAlreadyExists") return;
      throw this.fail(err);
    }
  }

  async putObject(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    const meta: Record<string, string> = { ...prefixMeta(options.metadata) };
    if (options.contentType) meta["Content-Type"] = options.contentType;
    try {
      if (typeof body === "string" || body instanceof Uint8Array) {
        const buf =
          typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
        if (buf.length <= this.partSize) {
          const r = await this.client.putObject(this.bucket, key, buf, buf.length, meta);
          return { key, etag: r.etag, size: buf.length, parts: 1 };
        }
      }
      return await this.putStream(key, toAsyncIterable(body), meta);
    } catch (err) {
      throw this.fail(err, key);
    }
  }

  /** Reads the first part: a short stream goes up in one PUT, a long one as a multipart upload. */
  private async putStream(key: string, source: AsyncIterable<Uint8Array>, meta: Record<string, string>) {
    const parts = chunked(source, this.partSize);
    const first = await parts.next();
    const firstBuf = first.done ? Buffer.alloc(0) : first.value;
    if (firstBuf.length < this.partSize) {
      const rest = await parts.next();
      if (rest.done) {
        const r = await this.client.putObject(this.bucket, key, firstBuf, firstBuf.length, meta);
        return { key, etag: r.etag, size: firstBuf.length, parts: 1 };
      }
    }
    const uploadId = await this.client.initiateNewMultipartUpload(this.bucket, key, meta);
    const etags: { part: number; etag: string }[] = [];
    let size = 0;
    try {
      let partNumber = 0;
      // Upload part n while reading part n+1 from the source.
      let current: Buffer | undefined = firstBuf;
      while (current) {
        partNumber++;
        const upload = this.client.uploadPart(
          { bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber, headers: {} },
          current,
        );
        const [uploaded, next] = await Promise.all([upload, parts.next()]);
        etags.push({ part: partNumber, etag: uploaded.etag });
        size += current.length;
        current = next.done ? undefined : next.value;
      }
      const done = await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
      return { key, etag: done.etag, size, parts: etags.length };
    } catch (err) {
      await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async getObject(key: string): Promise<Readable> {
    checkKey(key);
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (err) {
      throw this.fail(err, key);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const stream = await this.getObject(key);
    const chunks: Buffer[] = [];
    try {
      for await (const c of stream) chunks.push(c as Buffer);
    } catch (err) {
      throw this.fail(err, key);
    }
    return Buffer.concat(chunks);
  }

  async statObject(key: string): Promise<ObjectStat> {
    checkKey(key);
    try {
      const s = await this.client.statObject(this.bucket, key);
      const metadata: Record<string, string> = {};
      let contentType: string | undefined;
      for (const [k, v] of Object.entries(s.metaData ?? {})) {
        const lower = k.toLowerCase();
        if (lower === "content-type") contentType = String(v);
        else metadata[lower.replace(/^x-amz-meta-/, "")] = String(v);
      }
      return { key, size: s.size, etag: s.etag, lastModified: s.lastModified, contentType, metadata };
    } catch (err) {
      throw this.fail(err, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.statObject(key);
      return true;
    } catch (err) {
      if ((err as { kind?: string }).kind === "NotFound") return false;
      throw err;
    }
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    const stream = this.client.listObjects(this.bucket, prefix, true);
    try {
      for await (const item of stream) {
        if (!item.name) continue;
        yield {
          key: item.name,
          size: item.size,
          etag: item.etag ?? "",
          lastModified: item.lastModified ?? new Date(0),
        };
      }
    } catch (err) {
      throw this.fail(err);
    }
  }

  async *listPrefixes(prefix: string): AsyncIterable<string> {
    const stream = this.client.listObjects(this.bucket, prefix, false);
    try {
      for await (const item of stream) if (item.prefix) yield item.prefix;
    } catch (err) {
      throw this.fail(err);
    }
  }

  async deleteObject(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.client.removeObject(this.bucket, key);
    } catch (err) {
      const e = this.fail(err, key);
      if ((e as { kind?: string }).kind !== "NotFound") throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix) throw new InvalidInput("deletePrefix needs a non-empty prefix (refusing to empty the whole bucket)");
    const keys: string[] = [];
    for await (const o of this.listObjects(prefix)) keys.push(o.key);
    // Several single deletes in flight (a dataset has thousands of keys). Not the multi-object delete:
    // s3rver's version races on removing emptied directories and fails with 500s; the embedded front
    // runs deletes one at a time, real S3/MinIO takes them in parallel.
    let next = 0;
    const worker = async () => {
      while (next < keys.length) await this.deleteObject(keys[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(8, keys.length) }, worker));
    return keys.length;
  }

  async presignedGetUrl(key: string, expirySeconds = 3600): Promise<string> {
    checkKey(key);
    if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > 604800) {
      throw new InvalidInput(`presigned URL expiry ${expirySeconds}s must be an integer between 1 and 604800 (7 days)`);
    }
    try {
      return await this.client.presignedGetObject(this.bucket, key, expirySeconds);
    } catch (err) {
      throw this.fail(err, key);
    }
  }
}

function prefixMeta(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) out[`X-Amz-Meta-${k}`] = v;
  return out;
}

// The storage contract every stage codes against. Deliberately free of minio types so that domain code and
// tests never depend on the S3 client; MinioObjectStore is the one implementation that talks S3.
import type { Readable } from "node:stream";

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ObjectStat extends ObjectInfo {
  contentType?: string;
  /** User metadata (x-amz-meta-*), keys lower-cased without the prefix. */
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface PutResult {
  key: string;
  etag: string;
  size: number;
  /** 1 for a single PUT, else the number of multipart parts. */
  parts: number;
}

/** Anything putObject accepts: whole bytes, or a stream of bytes of unknown length. */
export type PutBody = Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface ObjectStore {
  /** The bucket every key of this store lives in (ObjectRefs carry it). */
  readonly bucket: string;
  /** Creates the bucket when missing; safe to call repeatedly. */
  ensureBucket(): Promise<void>;
  /** Streams the body; bodies larger than one part go up as a multipart upload with bounded memory. */
  putObject(key: string, body: PutBody, options?: PutOptions): Promise<PutResult>;
  /** A readable stream of the object's bytes. Throws NotFound naming the key. */
  getObject(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  statObject(key: string): Promise<ObjectStat>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with prefix (recursive), in key order. */
  listObjects(prefix: string): AsyncIterable<ObjectInfo>;
  /** The immediate "sub-folders" of prefix (keys up to the next "/"), e.g. listPrefixes("dataset/") -> "dataset/a/". */
  listPrefixes(prefix: string): AsyncIterable<string>;
  /** Deleting a missing key is not an error (S3 semantics). */
  deleteObject(key: string): Promise<void>;
  /** Deletes every object under prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** A URL anyone can GET for expirySeconds (default 1 hour) without credentials. */
  presignedGetUrl(key: string, expirySeconds?: number): Promise<string>;
}

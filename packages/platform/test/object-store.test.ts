import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, MinioObjectStore, NotFound, startEmbeddedS3 } from "../src/index.js";
import { isListUploadsRequest } from "../src/store/embedded-s3.js";

const MiB = 1024 * 1024;
let dir: string;
let s3: EmbeddedS3;
let store: MinioObjectStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "platform-store-"));
  s3 = await startEmbeddedS3({ dataDir: dir, port: 0 });
  store = new MinioObjectStore({ ...s3, bucket: "test-store", partSize: 5 * MiB });
  await store.ensureBucket();
  await store.ensureBucket(); // idempotent
});

afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("MinioObjectStore on embedded s3rver", () => {
  it("puts, gets, stats, lists and deletes", async () => {
    await store.putObject("a/one.json", '{"x":1}', { contentType: "application/json", metadata: { stage: "t" } });
    await store.putObject("a/b/two.bin", Buffer.from([1, 2, 3]));
    await store.putObject("c/three.bin", new Uint8Array([9]));
    expect((await store.getBuffer("a/one.json")).toString()).toBe('{"x":1}');
    const stat = await store.statObject("a/one.json");
    expect(stat.size).toBe(7);
    expect(stat.contentType).toBe("application/json");
    expect(stat.metadata.stage).toBe("t");
    const listed = await collect(store.listObjects("a/"));
    expect(listed.map((o) => o.key)).toEqual(["a/b/two.bin", "a/one.json"]);
    expect(await collect(store.listPrefixes("a/"))).toEqual(["a/b/"]);
    expect(await store.exists("a/b/two.bin")).toBe(true);
    expect(await store.deletePrefix("a/")).toBe(2);
    expect(await store.exists("a/b/two.bin")).toBe(false);
    await store.deleteObject("c/three.bin");
    await store.deleteObject("c/three.bin"); // missing: not an error
    expect(await collect(store.listObjects("c/"))).toEqual([]);
  });

  it("deletes many keys of one folder in parallel without tripping s3rver's directory clean-up race", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `many/dir/k${i}.bin`);
    await Promise.all(keys.map((k) => store.putObject(k, "v")));
    expect(await store.deletePrefix("many/")).toBe(40);
    expect(await collect(store.listObjects("many/"))).toEqual([]);
  });

  it("streams a 20 MiB body of unknown length as a multipart upload and reads it back", async () => {
    const data = randomBytes(20 * MiB + 123);
    // Odd-sized chunks so part boundaries never align with source chunks.
    const source = Readable.from(
      (function* () {
        for (let off = 0; off < data.length; off += 777_777) yield data.subarray(off, off + 777_777);
      })(),
    );
    const put = await store.putObject("big/blob.bin", source);
    expect(put.size).toBe(data.length);
    expect(put.parts).toBe(5); // 4 full 5 MiB parts + the tail

    expect((await store.statObject("big/blob.bin")).size).toBe(data.length);
    const hash = createHash("sha256");
    for await (const c of await store.getObject("big/blob.bin")) hash.update(c as Buffer);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    await store.deleteObject("big/blob.bin");
  });

  it("sends a large Buffer as multipart too", async () => {
    const data = randomBytes(11 * MiB);
    const put = await store.putObject("big/buf.bin", data);
    expect(put.parts).toBe(3);
    expect((await store.getBuffer("big/buf.bin")).equals(data)).toBe(true);
    await store.deleteObject("big/buf.bin");
  });

  it("serves a presigned GET URL to plain fetch", async () => {
    await store.putObject("share/x.txt", "hello partner");
    const url = await store.presignedGetUrl("share/x.txt", 60);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello partner");
  });

  it("translates a missing key into NotFound naming the key", async () => {
    await expect(store.getObject("nope/missing.bin")).rejects.toThrow(NotFound);
    await expect(store.getBuffer("nope/missing.bin")).rejects.toThrow(/nope\/missing\.bin/);
    await expect(store.statObject("nope/missing.bin")).rejects.toThrow(NotFound);
    await expect(store.statObject("nope/missing.bin")).rejects.toThrow(/nope\/missing\.bin/);
    const noBucket = new MinioObjectStore({ ...s3, bucket: "no-such-bucket" });
    await expect(noBucket.getBuffer("k")).rejects.toThrow(NotFound);
  });

  it("reports an unreachable endpoint as Unavailable", async () => {
    const dead = new MinioObjectStore({ ...s3, endpoint: "http://127.0.0.1:1", bucket: "x-bucket" });
    await expect(dead.ensureBucket()).rejects.toMatchObject({ kind: "Unavailable" });
  });

  it("answers the list-uploads probe for the minio client's own multipart path", () => {
    expect(isListUploadsRequest("GET", "/b?uploads&prefix=k")).toBe(true);
    expect(isListUploadsRequest("GET", "/b?uploads=")).toBe(true);
    expect(isListUploadsRequest("POST", "/b/k?uploads")).toBe(false);
    expect(isListUploadsRequest("GET", "/b/k?uploadId=1")).toBe(false);
  });
});

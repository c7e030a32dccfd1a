import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Client } from "minio";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, openObjectStore, silentLogger } from "../src/index.js";

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("openObjectStore", () => {
  it("starts the embedded store without S3_ENDPOINT, and connects to an endpoint with it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "platform-open-"));
    dirs.push(dataDir);
    const embedded = await openObjectStore(loadConfig({ SYNTHMRI_DATA_DIR: dataDir }), silentLogger);
    try {
      expect(embedded.embeddedEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(embedded.store.bucket).toBe("synthmri");
      await embedded.store.putObject("hello.txt", "hi");

      // A second process would get S3_ENDPOINT pointing at the first one's embedded store.
      const remote = await openObjectStore(
        loadConfig({
          S3_ENDPOINT: embedded.embeddedEndpoint!,
          S3_ACCESS_KEY: embedded.childEnv.S3_ACCESS_KEY!,
          S3_SECRET_KEY: embedded.childEnv.S3_SECRET_KEY!,
        }),
        silentLogger,
      );
      expect(remote.embeddedEndpoint).toBeUndefined();
      expect((await remote.store.getBuffer("hello.txt")).toString()).toBe("hi");
      await remote.close();

      // The shim: the minio client's own multipart path (which first lists in-progress uploads) works too.
      const { port } = new URL(embedded.embeddedEndpoint!);
      const client = new Client({
        endPoint: "127.0.0.1",
        port: Number(port),
        useSSL: false,
        accessKey: embedded.childEnv.S3_ACCESS_KEY!,
        secretKey: embedded.childEnv.S3_SECRET_KEY!,
        pathStyle: true,
        partSize: 5 * MiB,
      });
      const data = Buffer.alloc(11 * MiB, 3);
      await client.putObject("synthmri", "raw/multipart.bin", Readable.from([data]), data.length);
      expect((await embedded.store.statObject("raw/multipart.bin")).size).toBe(data.length);
    } finally {
      await embedded.close();
    }
    // Data survives a restart of the embedded store on the same data dir.
    const again = await openObjectStore(loadConfig({ SYNTHMRI_DATA_DIR: dataDir }), silentLogger);
    expect((await again.store.getBuffer("hello.txt")).toString()).toBe("hi");
    await again.close();
  });
});

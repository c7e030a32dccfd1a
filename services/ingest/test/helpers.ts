// Test rig: embedded S3 in a temp dir, a real ingest server on port 0, typed clients, phantom cohorts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IngestService, JobService } from "@synthmri/contracts";
import { type EmbeddedS3, type Logger, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { type Client, createClient, type ServiceMethodsOf } from "@synthmri/rpc";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";
import { type RunningIngest, startServer } from "../src/server.js";

export interface Rig {
  dir: string;
  s3: EmbeddedS3;
  store: MinioObjectStore;
  ingest: RunningIngest;
  client: Client<ServiceMethodsOf<typeof IngestService>>;
  jobs: Client<ServiceMethodsOf<typeof JobService>>;
  close(): Promise<void>;
}

export const SALT = "test-salt-0123456789abcdef";

export async function startRig(name: string, opts: { logger?: Logger } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), `ingest-${name}-`));
  const s3 = await startEmbeddedS3({ dataDir: dir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  const ingest = await startServer({
    store,
    salt: SALT,
    gzipLevel: 1,
    logger: opts.logger,
    openBucket: (bucket) => new MinioObjectStore({ ...s3, bucket }),
  });
  const client = createClient(IngestService, ingest.address);
  const jobs = createClient(JobService, ingest.address);
  return {
    dir,
    s3,
    store,
    ingest,
    client,
    jobs,
    async close() {
      client.close();
      jobs.close();
      await ingest.close();
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a BraTS 2020 phantom cohort under root; returns the subject ids. */
export function writePhantomCohort(
  root: string,
  n: number,
  size: [number, number, number] = [48, 48, 32],
  seed = "7",
): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = generatePhantomSubject(i, { size, seed });
    const dir = join(root, s.id);
    mkdirSync(dir, { recursive: true });
    for (const [f, bytes] of Object.entries(phantomSubjectFiles(s))) writeFileSync(join(dir, f), bytes);
    ids.push(s.id);
  }
  return ids;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function keys(store: MinioObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.listObjects(prefix)) out.push(o.key);
  return out;
}

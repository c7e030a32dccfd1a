// The generator's two listeners over real gRPC with the embedded S3 (FakeSampler instead of GAN sampling):
// the partner port serves only PartnerService, the partner's own jobs and health, every call token-checked;
// GeneratorService is not there; another partner's or an internal job reads as an unknown id; the internal port
// no longer serves PartnerService; without a partner config no partner listener opens.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { GeneratorService, JobService, JobState, PartnerService } from "@synthmri/contracts";
import { ArtifactStore, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPartnerConfig, parsePartnerConfig } from "../src/partner/adapters/partner-config.js";
import { sha256Hex } from "../src/partner/domain/tokens.js";
import { type StartedServer, startServer } from "../src/server.js";
import { FakeSampler } from "./partner-fixtures.js";
import { rpcFailure as failure, reflectionCode } from "@synthmri/rpc/testing";

let dir: string;
let s3: Awaited<ReturnType<typeof startEmbeddedS3>>;
let store: MinioObjectStore;
let artifacts: ArtifactStore;
let jobs: JobRunner;
let server: StartedServer;
let partnerAddr: string;

const auth = (token?: string) => ({
  retry: false as const,
  ...(token ? { metadata: { authorization: `Bearer ${token}` } } : {}),
});
const partnerJobs = (token?: string) => createClient(JobService, partnerAddr, auth(token));
const partnerApi = (token?: string) => createClient(PartnerService, partnerAddr, auth(token));

/** Drains a server stream; resolves with its messages or rejects with its status. */
async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

/** grpc.health.v1.Health/Check of the whole server, without credentials: the serving status number. */
function healthCheck(address: string): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      (err, res) => {
        client.close();
        // HealthCheckResponse { status (field 1, varint) }
        if (err) reject(err);
        else resolve(res?.[0] === 0x08 ? res[1] : 0);
      },
    ),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "partner-listener-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  artifacts = new ArtifactStore({ store });
  jobs = new JobRunner({ store, service: "generator", persistIntervalMs: 50, concurrency: 4 });
  const file = join(dir, "partners.json");
  const both = ["datasets:request", "datasets:read"];
  const text = JSON.stringify({
    partners: [
      { name: "acme", tokenSha256: sha256Hex("tok-acme"), scopes: both, imagesPerDay: 100 },
      { name: "other", tokenSha256: sha256Hex("tok-other"), scopes: both, imagesPerDay: 100 },
      { name: "reader", tokenSha256: sha256Hex("tok-reader"), scopes: ["datasets:read"], imagesPerDay: 100 },
    ],
    defaultEnsembleId: "ens-test",
  });
  await writeFile(file, text);
  server = await startServer(
    { artifacts, store, jobs },
    { partner: { config: await parsePartnerConfig(text, file), sampler: () => new FakeSampler() } },
  );
  if (!server.partner) throw new Error("an enabled partner config must open the partner listener");
  partnerAddr = server.partner.address;
});

afterAll(async () => {
  await server?.close(1000);
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("generator listeners", () => {
  it("listens for partners on a port of its own", () => {
    expect(server.partner?.port).toBeGreaterThan(0);
    expect(server.partner?.port).not.toBe(server.port);
  });

  it("partner port: a partner requests and watches its own job with its token", async () => {
    const { jobId, bundleId } = await partnerApi("tok-acme").requestSyntheticDataset({ size: 2 });
    const statuses = await drain(partnerJobs("tok-acme").watchJob({ jobId, minIntervalMs: 1 }));
    const last = statuses.at(-1)?.job;
    expect(last?.state, last?.errorMessage).toBe(JobState.SUCCEEDED);
    expect(last?.outputs.bundle_id).toBe(bundleId);
    expect((await partnerJobs("tok-acme").getJob({ jobId })).job?.kind).toBe("partner-request");
    expect((await partnerJobs("tok-acme").listJobs({})).jobs.map((j) => j.id)).toEqual([jobId]);
    // Cancelling its own finished job is allowed (and leaves it as it is).
    expect((await partnerJobs("tok-acme").cancelJob({ jobId })).job?.state).toBe(JobState.SUCCEEDED);

    // Another partner, and the internal port's full view, for contrast.
    const other = partnerJobs("tok-other");
    for (const p of [other.getJob({ jobId }), other.cancelJob({ jobId }), drain(other.watchJob({ jobId }))]) {
      const e = await failure(p);
      expect(e.code, e.details).toBe(grpc.status.NOT_FOUND);
      expect(e.details).toBe(`job "${jobId}" not found in service generator`);
    }
    expect((await other.listJobs({})).jobs).toEqual([]);
    const internal = createClient(JobService, server.address, { retry: false });
    expect((await internal.listJobs({})).jobs.map((j) => j.id)).toContain(jobId);
    internal.close();
    // Following jobs needs the scope that creates them.
    const denied = await failure(drain(partnerJobs("tok-reader").watchJob({ jobId })));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/lacks scope "datasets:request" needed by WatchJob/);
  });

  it("partner port: internal jobs read as unknown ids and cannot be cancelled", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const internalJob = jobs.start("train-gan", { datasetId: "ds-real" }, async () => {
      await held;
      return { outputs: {}, artifacts: [] };
    });
    try {
      const acme = partnerJobs("tok-acme");
      const unknown = await failure(acme.getJob({ jobId: "job-unknown-0" }));
      expect(unknown.code).toBe(grpc.status.NOT_FOUND);
      for (const p of [
        acme.getJob({ jobId: internalJob }),
        acme.cancelJob({ jobId: internalJob }),
        drain(acme.watchJob({ jobId: internalJob })),
      ]) {
        const e = await failure(p);
        expect(e.code).toBe(grpc.status.NOT_FOUND);
        expect(e.details).toBe(unknown.details?.replace("job-unknown-0", internalJob));
      }
      expect((await acme.listJobs({})).jobs.map((j) => j.id)).not.toContain(internalJob);
      expect((await jobs.get(internalJob)).cancelRequested).toBe(false);
    } finally {
      release();
      await jobs.wait(internalJob);
    }
  });

  it("partner port: GeneratorService is not served, reflection is off, health answers without a token", async () => {
    const generator = createClient(GeneratorService, partnerAddr, auth("tok-acme"));
    const e = await failure(generator.listEnsembles({}));
    expect(e.code).toBe(grpc.status.UNIMPLEMENTED);
    const train = await failure(generator.trainGan({}));
    expect(train.code).toBe(grpc.status.UNIMPLEMENTED);
    generator.close();
    expect(await healthCheck(partnerAddr)).toBe(1); // SERVING
    expect(await reflectionCode(partnerAddr)).toBe(grpc.status.UNIMPLEMENTED);
    expect(await reflectionCode(server.address)).toBe(grpc.status.OK);
  });

  it("partner port: no token -> UNAUTHENTICATED on every method, WatchJob included", async () => {
    const services = [
      { service: PartnerService, client: partnerApi() as unknown as Record<string, (r: object) => unknown> },
      { service: JobService, client: partnerJobs() as unknown as Record<string, (r: object) => unknown> },
    ];
    let checked = 0;
    for (const { service, client } of services) {
      for (const m of service.methods) {
        const call = client[m.localName]({ jobId: "job-x", bundleId: "pb-x", size: 1 });
        const e = await failure(
          m.methodKind === "server_streaming" ? drain(call as AsyncIterable<unknown>) : (call as Promise<unknown>),
        );
        expect(e.code, `${m.name}: ${e.details}`).toBe(grpc.status.UNAUTHENTICATED);
        expect(e.details).toMatch(/missing partner token/);
        checked++;
      }
    }
    expect(checked).toBe(9); // 5 PartnerService (ListGenerators included) + 4 JobService
    const wrong = await failure(drain(partnerJobs("tok-nope").watchJob({ jobId: "job-x" })));
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("internal port: PartnerService is not served there (even with a valid token)", async () => {
    const api = createClient(PartnerService, server.address, auth("tok-acme"));
    const e = await failure(api.requestSyntheticDataset({ size: 1 }));
    expect(e.code).toBe(grpc.status.UNIMPLEMENTED);
    api.close();
  });

  it("opens no partner listener without PARTNER_TOKENS_FILE", async () => {
    const plain = await startServer(
      { artifacts, store, jobs },
      { partner: { config: await loadPartnerConfig(undefined), sampler: () => new FakeSampler() } },
    );
    try {
      expect(plain.partner).toBeUndefined();
      // Resume handlers still include the partner flow's, so its jobs finish after a restart.
      expect(Object.keys(plain.resumeHandlers)).toContain("partner-request");
      const api = createClient(PartnerService, plain.address, auth("tok-acme"));
      expect((await failure(api.getBundle({ bundleId: "pb-x" }))).code).toBe(grpc.status.UNIMPLEMENTED);
      api.close();
    } finally {
      await plain.shutdown(500);
    }
  });
});
